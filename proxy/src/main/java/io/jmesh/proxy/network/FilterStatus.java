package io.jmesh.proxy.network;

/** What a network filter tells the chain (Envoy's {@code Network::FilterStatus}). */
public enum FilterStatus {
    /** Pass the bytes (or the new connection) on to the next filter. */
    CONTINUE,
    /**
     * Hold the bytes here: the chain stops reading and keeps them (and whatever arrives later, in order) until
     * the filter calls {@link ReadFilterCallbacks#continueReading()} or closes the connection. On the write side,
     * the bytes are dropped (a filter that stops a write is expected to close the connection).
     */
    STOP_ITERATION
}
