package io.jmesh.proxy.filter.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.LocalRateLimitDescriptor;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.router.RateLimitPolicy;

/** Token buckets and descriptor matching on a fake clock. */
class TokenBucketTest {

    private final AtomicLong now = new AtomicLong(1_000_000_000L);

    private TokenBucket bucket(int max, int perFill, long intervalMillis) {
        return new TokenBucket(max, perFill, TimeUnit.MILLISECONDS.toNanos(intervalMillis), now::get);
    }

    @Test
    void startsFullAndRefillsAtIntervalBoundariesUpToMax() {
        TokenBucket b = bucket(3, 2, 1000);
        assertTrue(b.tryConsume());
        assertTrue(b.tryConsume());
        assertTrue(b.tryConsume());
        assertFalse(b.tryConsume());
        assertEquals(0, b.remaining());
        assertEquals(1, b.secondsUntilFill());
        now.addAndGet(TimeUnit.MILLISECONDS.toNanos(999));
        assertFalse(b.tryConsume(), "no fill before the interval ends");
        now.addAndGet(TimeUnit.MILLISECONDS.toNanos(1));
        assertEquals(2, b.remaining());
        assertTrue(b.tryConsume());
        now.addAndGet(TimeUnit.SECONDS.toNanos(10));
        assertEquals(3, b.remaining(), "never more than max_tokens");
    }

    @Test
    void concurrentConsumersTakeExactlyTheTokens() throws Exception {
        TokenBucket b = bucket(1000, 1, 3_600_000);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                Callable<Integer> c = () -> {
                    int got = 0;
                    for (int i = 0; i < 1000; i++) {
                        if (b.tryConsume()) {
                            got++;
                        }
                    }
                    return got;
                };
                results.add(pool.submit(c));
            }
            int total = 0;
            for (Future<Integer> f : results) {
                total += f.get();
            }
            assertEquals(1000, total);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void descriptorBucketsLimitTheirRequestsAndTheDefaultBucketTheRest() throws ConfigException {
        io.envoyproxy.envoy.type.v3.TokenBucket def = tb(3);
        LocalRateLimiter l = LocalRateLimiter.create(def, List.of(LocalRateLimitDescriptor.newBuilder()
                .addEntries(RateLimitDescriptor.Entry.newBuilder().setKey("user").setValue("alice"))
                .setTokenBucket(tb(1)).build()), false, "", now::get);
        List<List<RateLimitPolicy.Entry>> alice = List.of(List.of(new RateLimitPolicy.Entry("user", "alice")));
        List<List<RateLimitPolicy.Entry>> bob = List.of(List.of(new RateLimitPolicy.Entry("user", "bob")));
        assertTrue(l.check(alice).allowed());
        LocalRateLimiter.Result r = l.check(alice);
        assertFalse(r.allowed());
        assertEquals(1, r.bucket().maxTokens(), "the descriptor's bucket decided");
        assertTrue(l.check(bob).allowed());
        assertTrue(l.check(bob).allowed());
        assertTrue(l.check(List.of()).allowed());
        assertFalse(l.check(bob).allowed(), "the default bucket is spent");
    }

    @Test
    void fillIntervalUnder50msIsRefused() {
        ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> TokenBucket.from(io.envoyproxy.envoy.type.v3.TokenBucket.newBuilder().setMaxTokens(1)
                        .setFillInterval(com.google.protobuf.util.Durations.fromMillis(10)).build(), "token_bucket",
                        now::get));
        assertEquals("token_bucket.fill_interval: 0.010s (expected: >= 0.050s)", e.getMessage());
    }

    private static io.envoyproxy.envoy.type.v3.TokenBucket tb(int max) {
        return io.envoyproxy.envoy.type.v3.TokenBucket.newBuilder().setMaxTokens(max)
                .setFillInterval(com.google.protobuf.util.Durations.fromSeconds(3600)).build();
    }
}
