package io.jmesh.proxy.network;

import io.jmesh.proxy.stream.ConnectionInfo;
import io.netty.channel.Channel;

/**
 * What a {@link ReadFilter} may do to its connection (Envoy's {@code Network::ReadFilterCallbacks}). Call only on
 * the connection's event loop ({@code connection().eventLoop()}).
 */
public interface ReadFilterCallbacks {

    /** The downstream connection; closing it ends the chain (held bytes are released). */
    Channel connection();

    /** Addresses, SNI, ALPN and TLS facts of the connection, as the listener found them. */
    ConnectionInfo connectionInfo();

    /**
     * Resumes a chain this filter stopped: the held new-connection event and bytes go on to the next filter,
     * then reading resumes. Does nothing when this filter has not stopped the chain.
     */
    void continueReading();
}
