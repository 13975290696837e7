package io.jmesh.proxy.filter.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/** {@code envoy.filters.network.local_ratelimit} before tcp_proxy: connections beyond the bucket are closed. */
class NetworkLocalRateLimitTest {

    @Test
    void connectionsBeyondTheBucketAreClosed() throws Exception {
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.tcp("backend")
                     .networkFilter(NetworkLocalRateLimitFilterFactory.NAME, Bootstraps.typed(
                             "envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit",
                             "stat_prefix: tcp_in, token_bucket: { max_tokens: 2, fill_interval: 3600s }"))
                     .cluster("backend", backend.port()).start(2)) {
            assertEquals(200, Curl.run(proxy.url("/1")).status);
            assertEquals(200, Curl.run(proxy.url("/2")).status);
            Curl.Result third = Curl.run(proxy.url("/3"));
            assertTrue(third.exitCode == 52 || third.exitCode == 56, "closed without a reply: " + third);
            assertEquals(1, proxy.counter("local_ratelimit.tcp_in.rate_limited"));
            assertEquals(2, backend.connections.get(), "the closed connection never reached the upstream");
        }
    }
}
