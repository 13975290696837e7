package io.jmesh.proxy.transport;

import io.jmesh.proxy.tls.ClientTlsProvider;
import io.netty.channel.Channel;

/**
 * The transport socket of a cluster, built once per config: what every upstream connection of the cluster runs
 * over. Thread-safe; {@link #initChannel} runs on the connection's event loop.
 */
public interface UpstreamTransportSocket {

    /** Plaintext ({@code envoy.transport_sockets.raw_buffer}). */
    UpstreamTransportSocket RAW_BUFFER = new UpstreamTransportSocket() {};

    /**
     * The TLS of new connections, following secret rotation; null for a plaintext socket. The connector adds its
     * {@code SslHandler} after {@link #initChannel}.
     */
    default ClientTlsProvider tls() {
        return null;
    }

    /**
     * Called for each new upstream connection before TLS and the codec are added at the end of the pipeline:
     * handlers added here with {@code addLast} see the connection's raw bytes.
     */
    default void initChannel(Channel channel) {}
}
