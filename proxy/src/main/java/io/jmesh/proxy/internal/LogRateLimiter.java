package io.jmesh.proxy.internal;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Lets at most {@link #permits()} log lines through per {@link #windowNanos()} and counts the ones it holds
 * back, so that what a remote peer can make the proxy log per connection (a bad handshake, a bad frame, a
 * reset) cannot fill the disk. Thread-safe and lock-free; windows are fixed, so a burst can reach twice the
 * permits across a window edge.
 *
 * <pre>{@code
 * long suppressed = LogRateLimiter.PER_CONNECTION.tryAcquire();
 * if (suppressed >= 0) {
 *     logger.warn("{} upstream closing: {} ({} similar messages suppressed)", ch, cause, suppressed);
 * }
 * }</pre>
 */
public final class LogRateLimiter {

    /** The one limiter shared by every per-connection warning of the proxy: 10 lines per 10 seconds. */
    public static final LogRateLimiter PER_CONNECTION = new LogRateLimiter(10, TimeUnit.SECONDS.toNanos(10));

    private final int permits;
    private final long windowNanos;
    /** Start (System.nanoTime) of the current window, lines let through in it, and lines held back since the last let through. */
    private final LongSupplier clock;
    private final AtomicLong windowStart;
    private final AtomicLong used = new AtomicLong();
    private final AtomicLong suppressed = new AtomicLong();

    public LogRateLimiter(int permits, long windowNanos) {
        this(permits, windowNanos, System::nanoTime);
    }

    /** With another clock (tests). */
    LogRateLimiter(int permits, long windowNanos, LongSupplier clock) {
        if (permits < 1 || windowNanos < 1) {
            throw new IllegalArgumentException("permits: " + permits + ", windowNanos: " + windowNanos
                    + " (expected: >= 1)");
        }
        this.permits = permits;
        this.windowNanos = windowNanos;
        this.clock = clock;
        this.windowStart = new AtomicLong(clock.getAsLong());
    }

    public int permits() {
        return permits;
    }

    public long windowNanos() {
        return windowNanos;
    }

    /**
     * Returns {@code -1} if the caller must not log now, else the number of lines held back since the last one
     * let through (which the caller should mention).
     */
    public long tryAcquire() {
        long now = clock.getAsLong();
        long start = windowStart.get();
        if (now - start >= windowNanos && windowStart.compareAndSet(start, now)) {
            used.set(0);
        }
        if (used.incrementAndGet() > permits) {
            suppressed.incrementAndGet();
            return -1;
        }
        return suppressed.getAndSet(0);
    }
}
