package io.jmesh.discovery.server;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Coalesces change events as istiod does ({@code PILOT_DEBOUNCE_AFTER} /
 * {@code PILOT_DEBOUNCE_MAX}): the action runs once events have been quiet for {@code quiet}, or
 * at the latest {@code max} after the first of them. The action runs on the debouncer's own
 * thread, one run at a time, and gets the {@link System#nanoTime()} of the first event it covers.
 */
public final class Debouncer implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(Debouncer.class);

    private final long quietNanos;
    private final long maxNanos;
    private final LongConsumer action;
    private final ScheduledExecutorService executor;
    private long firstEvent;
    private long lastEvent;
    private boolean scheduled;

    public Debouncer(Duration quiet, Duration max, LongConsumer action) {
        this.quietNanos = quiet.toNanos();
        this.maxNanos = max.toNanos();
        this.action = action;
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "jmesh-debounce");
            t.setDaemon(true);
            return t;
        });
    }

    /** Records an event; thread-safe and non-blocking. */
    public synchronized void trigger() {
        long now = System.nanoTime();
        if (!scheduled) {
            firstEvent = now;
            scheduled = true;
            executor.schedule(this::check, quietNanos, TimeUnit.NANOSECONDS);
        }
        lastEvent = now;
    }

    private void check() {
        long first;
        synchronized (this) {
            long now = System.nanoTime();
            long quietFor = now - lastEvent;
            if (quietFor < quietNanos && now - firstEvent < maxNanos) {
                executor.schedule(this::check, quietNanos - quietFor, TimeUnit.NANOSECONDS);
                return;
            }
            first = firstEvent;
            scheduled = false;
        }
        try {
            action.accept(first);
        } catch (RuntimeException e) {
            logger.warn("debounced action failed", e);
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
