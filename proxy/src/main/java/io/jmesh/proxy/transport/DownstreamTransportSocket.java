package io.jmesh.proxy.transport;

import io.jmesh.proxy.tls.ServerTlsProvider;
import io.netty.channel.Channel;

/**
 * The transport socket of a filter chain, built once per config: what every accepted connection of the chain runs
 * over. Thread-safe; {@link #initChannel} runs on the connection's event loop.
 */
public interface DownstreamTransportSocket {

    /** Plaintext ({@code envoy.transport_sockets.raw_buffer}). */
    DownstreamTransportSocket RAW_BUFFER = new DownstreamTransportSocket() {};

    /**
     * The TLS the listener terminates, following secret rotation; null for a plaintext socket. The listener adds
     * the {@code SslHandler} of the connection's SNI after {@link #initChannel}.
     */
    default ServerTlsProvider tls() {
        return null;
    }

    /**
     * Called for each connection of the chain once it is picked, before TLS and the network filters are added at
     * the end of the pipeline: handlers added here with {@code addLast} see the connection's raw bytes.
     */
    default void initChannel(Channel channel) {}
}
