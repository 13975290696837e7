package io.jmesh.proxy.network;

import io.netty.buffer.ByteBuf;

/**
 * A network filter on the write side (Envoy's {@code Network::WriteFilter}): it sees every byte written to the
 * client (before encryption). Write filters run in the reverse order of their configuration, as in Envoy. Called
 * on the connection's event loop; one instance per connection.
 */
public interface WriteFilter {

    /** Called once, before any other call. */
    default void initializeWriteFilterCallbacks(WriteFilterCallbacks callbacks) {}

    /**
     * Called with bytes about to be written. The filter must not move the reader index, keep, or release
     * {@code data}. {@link FilterStatus#STOP_ITERATION} drops them.
     */
    FilterStatus onWrite(ByteBuf data);
}
