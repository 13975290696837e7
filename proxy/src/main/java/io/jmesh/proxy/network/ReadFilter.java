package io.jmesh.proxy.network;

import io.netty.buffer.ByteBuf;

/**
 * A network filter on the read side (Envoy's {@code Network::ReadFilter}): it sees a new connection, then every
 * byte the client sends, in order, each buffer once, before the next filter does. Called on the connection's
 * event loop; one instance per connection.
 */
public interface ReadFilter {

    /** Called once, before any other call, with what the filter may do to its connection. */
    void initializeReadFilterCallbacks(ReadFilterCallbacks callbacks);

    /**
     * Called when the connection is set up with this chain (the listener filters have run, TLS may still be
     * handshaking). {@link FilterStatus#STOP_ITERATION} holds the connection's bytes until
     * {@link ReadFilterCallbacks#continueReading()}.
     */
    default FilterStatus onNewConnection() {
        return FilterStatus.CONTINUE;
    }

    /**
     * Called with bytes from the client (decrypted when the chain terminates TLS). The filter may read them with
     * the absolute {@code get} methods; it must not move the reader index, keep, or release {@code data}: the chain
     * owns it and passes it on, without a copy, when the filter continues.
     */
    FilterStatus onData(ByteBuf data);
}
