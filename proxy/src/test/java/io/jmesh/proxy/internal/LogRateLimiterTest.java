package io.jmesh.proxy.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

class LogRateLimiterTest {

    @Test
    void letsPermitsThroughPerWindowAndReportsWhatItHeldBack() {
        AtomicLong now = new AtomicLong(1_000);
        LogRateLimiter limiter = new LogRateLimiter(2, 100, now::get);
        assertEquals(0, limiter.tryAcquire());
        assertEquals(0, limiter.tryAcquire());
        assertEquals(-1, limiter.tryAcquire());
        assertEquals(-1, limiter.tryAcquire());
        now.addAndGet(99);
        assertEquals(-1, limiter.tryAcquire());
        now.addAndGet(1);
        assertEquals(3, limiter.tryAcquire(), "the lines held back in the last window");
        assertEquals(0, limiter.tryAcquire());
        assertEquals(-1, limiter.tryAcquire());
    }
}
