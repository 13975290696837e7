package io.jmesh.discovery.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class DebouncerTest {

    @Test
    void aBurstOfEventsRunsTheActionOnceWithTheFirstEventsTime() throws Exception {
        LinkedBlockingQueue<Long> runs = new LinkedBlockingQueue<>();
        try (Debouncer d = new Debouncer(Duration.ofSeconds(1), Duration.ofSeconds(100), runs::add)) {
            long before = System.nanoTime();
            for (int i = 0; i < 1000; i++) {
                d.trigger();
            }
            Long first = runs.poll(30, TimeUnit.SECONDS);
            assertTrue(first != null && first >= before, "action did not run with the first event's time");
            d.trigger();
            Long second = runs.poll(30, TimeUnit.SECONDS);
            assertTrue(second != null && second > first);
            assertEquals(0, runs.size());
        }
    }

    @Test
    void continuousEventsStillRunAtTheMaximumDelay() throws Exception {
        LinkedBlockingQueue<Long> runs = new LinkedBlockingQueue<>();
        try (Debouncer d = new Debouncer(Duration.ofMillis(200), Duration.ofMillis(400), runs::add)) {
            // Events never quiet for 200 ms: only the maximum delay can fire the action.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (runs.isEmpty()) {
                assertTrue(System.nanoTime() < deadline, "never ran under continuous events");
                d.trigger();
                Thread.sleep(5);
            }
        }
    }
}
