package io.jmesh.proxy.listener;

import io.jmesh.proxy.stream.ConnectionInfo;
import io.netty.channel.Channel;

/**
 * What a {@link ListenerFilter} may do to a connection that has no filter chain yet (Envoy's
 * {@code Network::ListenerFilterCallbacks}). Call only on the connection's event loop.
 */
public interface ListenerFilterCallbacks {

    /** The accepted connection. A filter that closes it ends the listener filter chain. */
    Channel channel();

    /** Where the filter writes what it found (SNI, ALPN, transport protocol, addresses). */
    ConnectionInfo connectionInfo();

    /**
     * Removes the first {@code bytes} of the peeked bytes for good, so that no filter chain sees them (the PROXY
     * protocol header). Only from {@link ListenerFilter#onData}; at most the readable bytes.
     */
    void consume(int bytes);

    /**
     * Resumes a chain this filter stopped in {@link ListenerFilter#onAccept} without asking for bytes (an
     * asynchronous look-up), with the next filter.
     */
    void continueFilterChain();
}
