package io.jmesh.security.agent;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A fake {@link AgentScheduler} (gRPC-Java's {@code FakeClock} idea): time stands still until the test calls
 * {@link #forward}, which runs the tasks then due on the test thread. Thread-safe: tasks may be scheduled from
 * any thread (the CA client's callbacks). Starts at the real current time, so certificates a real CA issues now
 * are valid at the fake time.
 */
public final class FakeAgentScheduler implements AgentScheduler {

    private record Task(Instant at, long seq, Runnable run, boolean[] cancelled) {}

    private final List<Task> tasks = new ArrayList<>();
    private Instant now = Instant.now();
    private long seq;

    @Override
    public synchronized Instant now() {
        return now;
    }

    @Override
    public synchronized Scheduled schedule(Runnable task, Duration delay) {
        boolean[] cancelled = {false};
        tasks.add(new Task(now.plus(delay.isNegative() ? Duration.ZERO : delay), seq++, task, cancelled));
        return () -> {
            synchronized (FakeAgentScheduler.this) {
                cancelled[0] = true;
            }
        };
    }

    /** Moves time forward to {@code t} (no earlier than now) and runs every task due by then. */
    public void forwardTo(Instant t) {
        forward(Duration.between(now(), t));
    }

    /** Moves time forward by {@code d} and runs every task due by then, in time order. */
    public void forward(Duration d) {
        Instant until;
        synchronized (this) {
            until = now.plus(d);
        }
        while (true) {
            Task next;
            synchronized (this) {
                next = tasks.stream().filter(t -> !t.at().isAfter(until))
                        .min(Comparator.comparing(Task::at).thenComparingLong(Task::seq)).orElse(null);
                if (next == null) {
                    now = until;
                    return;
                }
                tasks.remove(next);
                if (next.at().isAfter(now)) {
                    now = next.at();
                }
                if (next.cancelled()[0]) {
                    continue;
                }
            }
            next.run().run();
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            tasks.clear();
        }
    }
}
