package io.jmesh.ratelimit;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Counters in this process (envoyproxy/ratelimit's local cache, without Redis): one per cache key, dropped once its
 * window has passed. Lock-free per key.
 */
public final class MemoryCounterStore implements CounterStore {

    private record Counter(AtomicLong value, long expiresAt) {}

    private final ConcurrentHashMap<String, Counter> counters = new ConcurrentHashMap<>();
    private final LongSupplier epochSeconds;
    private final AtomicLong lastSweep = new AtomicLong();

    public MemoryCounterStore(LongSupplier epochSeconds) {
        this.epochSeconds = epochSeconds;
    }

    @Override
    public long[] increment(List<Increment> increments) {
        long now = epochSeconds.getAsLong();
        sweep(now);
        long[] out = new long[increments.size()];
        for (int i = 0; i < out.length; i++) {
            Increment inc = increments.get(i);
            Counter c = counters.compute(inc.key(), (k, old) -> old == null || old.expiresAt <= now
                    ? new Counter(new AtomicLong(), now + inc.expireSeconds()) : old);
            out[i] = c.value.addAndGet(inc.hits());
        }
        return out;
    }

    /** Drops expired counters, at most once a second. */
    private void sweep(long now) {
        long last = lastSweep.get();
        if (now > last && lastSweep.compareAndSet(last, now)) {
            counters.values().removeIf(c -> c.expiresAt <= now);
        }
    }

    /** The number of live counters (tests). */
    public int size() {
        return counters.size();
    }
}
