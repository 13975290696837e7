package io.jmesh.proxy.network.metadataexchange;

import java.util.ArrayList;
import java.util.List;

import com.google.protobuf.Struct;

import io.jmesh.proxy.stream.ConnectionInfo;
import io.netty.util.AttributeKey;

/**
 * What one metadata exchange found about the peer of a connection: pending until the exchange ends, then the peer's
 * node metadata and id (found), or nothing (the ALPN was not {@code istio-peer-exchange}, the peer sent no exchange
 * header, or the connection ended first). Kept on the downstream channel under {@link #DOWNSTREAM} (the downstream
 * peer, for the server side's stats) or {@link #UPSTREAM} (the peer of tcp_proxy's upstream connection, for the
 * client side's). Not thread-safe: the downstream connection's event loop only (tcp_proxy connects upstream from
 * the same loop).
 */
public final class PeerSlot {

    /** The downstream peer of a connection whose filter chain runs {@code istio.metadata_exchange}. */
    public static final AttributeKey<PeerSlot> DOWNSTREAM = AttributeKey.valueOf("jmesh.metadata_exchange.downstream");

    /** The upstream peer of a tcp_proxy connection to a cluster with the {@code istio.metadata_exchange} filter. */
    public static final AttributeKey<PeerSlot> UPSTREAM = AttributeKey.valueOf("jmesh.metadata_exchange.upstream");

    private boolean done;
    private Struct metadata;
    private String id;
    private ConnectionInfo connection;
    private List<Runnable> waiting;

    /** A pending slot. */
    public PeerSlot() {}

    /** Whether the exchange has ended (found or not). */
    public boolean done() {
        return done;
    }

    /** The peer's node metadata; null when not found (or still pending). */
    public Struct metadata() {
        return metadata;
    }

    /** The peer's node id; null when not found or not sent. */
    public String id() {
        return id;
    }

    /** The connection the exchange ran on (its TLS facts: the peer's principal), or null. */
    public ConnectionInfo connection() {
        return connection;
    }

    /** Runs {@code r} when the exchange ends (now if it has). */
    public void whenDone(Runnable r) {
        if (done) {
            r.run();
            return;
        }
        if (waiting == null) {
            waiting = new ArrayList<>(1);
        }
        waiting.add(r);
    }

    /** Ends the exchange with the peer's metadata and id (null: not found); later calls do nothing. */
    void complete(Struct peerMetadata, String peerId, ConnectionInfo on) {
        if (done) {
            return;
        }
        done = true;
        metadata = peerMetadata;
        id = peerId;
        connection = on;
        List<Runnable> w = waiting;
        waiting = null;
        if (w != null) {
            w.forEach(Runnable::run);
        }
    }
}
