package io.jmesh.proxy.network;

import io.jmesh.proxy.stream.ConnectionInfo;
import io.netty.channel.ChannelPipeline;

/**
 * Where a {@link NetworkFilterInstaller} puts its filters for one new connection (Envoy's
 * {@code Network::FilterManager}). Non-terminal filters add {@link ReadFilter}s and {@link WriteFilter}s; the
 * terminal filter adds its Netty handlers at the end of {@link #pipeline()}. Used on the connection's event loop
 * while the connection is being set up.
 */
public interface NetworkFilterManager {

    /** Adds a filter to the read side, after those already added. */
    void addReadFilter(ReadFilter filter);

    /** Adds a filter to the write side; write filters run in reverse order of addition. */
    void addWriteFilter(WriteFilter filter);

    /** Adds a filter to both sides. */
    default void addFilter(NetworkFilter filter) {
        addReadFilter(filter);
        addWriteFilter(filter);
    }

    /** The connection's pipeline: TLS (when the chain terminates it) and the read/write filters come before. */
    ChannelPipeline pipeline();

    /** The connection's facts. */
    ConnectionInfo connectionInfo();

    /** Whether this filter chain terminates TLS ({@code transport_socket} {@code envoy.transport_sockets.tls}). */
    boolean secure();
}
