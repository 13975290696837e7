package io.jmesh.ratelimit;

import java.util.List;

/** Where fixed-window counters live. Implementations are thread-safe. */
public interface CounterStore extends AutoCloseable {

    /** One increment: a cache key, the hits to add, and the window length (the key expires with its window). */
    record Increment(String key, long hits, long expireSeconds) {}

    /** Adds each increment to its counter and returns the counters' new values, in order, in one round trip. */
    long[] increment(List<Increment> increments) throws Exception;

    @Override
    default void close() {}
}
