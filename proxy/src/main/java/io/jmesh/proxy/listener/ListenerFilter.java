package io.jmesh.proxy.listener;

import io.jmesh.proxy.network.FilterStatus;
import io.netty.buffer.ByteBuf;

/**
 * A listener filter (Envoy's {@code Network::ListenerFilter}): runs on an accepted connection before a filter
 * chain is chosen, in the order of {@code listener_filters}, and may peek at the first bytes without consuming
 * them. What it finds goes into the connection's {@link io.jmesh.proxy.stream.ConnectionInfo}, which filter chain
 * matching reads. Called on the connection's event loop; one instance per connection unless stateless.
 */
public interface ListenerFilter {

    /**
     * Called first. {@link FilterStatus#CONTINUE} passes the connection to the next filter;
     * {@link FilterStatus#STOP_ITERATION} waits: for bytes ({@link #onData}) when {@link #maxReadBytes()} is
     * positive, else for {@link ListenerFilterCallbacks#continueFilterChain()}.
     */
    FilterStatus onAccept(ListenerFilterCallbacks callbacks);

    /**
     * Called with all bytes peeked so far (the same buffer, grown, on each call) until the filter continues. The
     * filter reads with absolute {@code get} methods and must not keep or release {@code peeked}; it may drop a
     * prefix with {@link ListenerFilterCallbacks#consume}. A filter that still stops once
     * {@link #maxReadBytes()} bytes are there has the connection closed.
     */
    default FilterStatus onData(ListenerFilterCallbacks callbacks, ByteBuf peeked) {
        return FilterStatus.CONTINUE;
    }

    /** The most bytes this filter peeks at; 0 when it reads none. */
    default int maxReadBytes() {
        return 0;
    }
}
