package io.jmesh.security.agent;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The agent's time: what it is now and running a task later. Rotation and back-off go through this only, so a
 * test can drive them with a fake clock instead of waiting.
 */
public interface AgentScheduler extends AutoCloseable {

    /** A scheduled task that has not run yet may be cancelled. */
    interface Scheduled {
        void cancel();
    }

    /** The current time. */
    Instant now();

    /** Runs {@code task} once after {@code delay} (at once for zero or negative delays). */
    Scheduled schedule(Runnable task, Duration delay);

    /** Stops running scheduled tasks. */
    @Override
    void close();

    /** The system clock and one daemon thread named {@code jmesh-agent}. */
    static AgentScheduler system() {
        ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "jmesh-agent");
            t.setDaemon(true);
            return t;
        });
        return new AgentScheduler() {
            @Override
            public Instant now() {
                return Instant.now();
            }

            @Override
            public Scheduled schedule(Runnable task, Duration delay) {
                ScheduledFuture<?> f = executor.schedule(task, Math.max(0, delay.toNanos()), TimeUnit.NANOSECONDS);
                return () -> f.cancel(false);
            }

            @Override
            public void close() {
                executor.shutdownNow();
            }
        };
    }
}
