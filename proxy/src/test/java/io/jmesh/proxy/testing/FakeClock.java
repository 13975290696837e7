package io.jmesh.proxy.testing;

import java.util.concurrent.TimeUnit;

import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;

/**
 * A fake clock with an event loop whose timers fire only when the test moves time forward (gRPC-Java's
 * {@code FakeClock}, on Netty's {@link EmbeddedChannel} loop with frozen time). Everything runs on the test
 * thread: {@link #eventLoop()} reports every thread as its own, tasks run in {@link #runDueTasks()} and
 * {@link #forwardTime}. Not thread-safe.
 */
public final class FakeClock implements AutoCloseable {

    private final EmbeddedChannel channel = new EmbeddedChannel();
    private long nanos;

    public FakeClock() {
        channel.freezeTime();
    }

    /** The loop whose {@code schedule} follows this clock. */
    public EventLoop eventLoop() {
        return channel.eventLoop();
    }

    /** Moves time forward by {@code amount} and runs the tasks and timers now due. */
    public void forwardTime(long amount, TimeUnit unit) {
        channel.advanceTimeBy(amount, unit);
        nanos += unit.toNanos(amount);
        runDueTasks();
    }

    /** The fake time in nanoseconds (0 at creation), as a {@code LongSupplier} clock for code timed by one. */
    public long nanoTime() {
        return nanos;
    }

    /** Runs queued tasks and timers due at the current fake time. */
    public void runDueTasks() {
        channel.runPendingTasks();
        channel.runScheduledPendingTasks();
    }

    @Override
    public void close() {
        channel.finishAndReleaseAll();
    }
}
