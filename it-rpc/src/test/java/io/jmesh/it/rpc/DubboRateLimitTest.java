package io.jmesh.it.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.dubbo.rpc.RpcException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code jmesh.filters.rpc.local_ratelimit} in front of a real Dubbo provider: a real Dubbo consumer over the limit of
 * its service gets status 100 {@code SERVER_THREADPOOL_EXHAUSTED_ERROR} with jmesh's message (Dubbo's client turns
 * a non-OK status into an {@code RpcException} carrying the reply's message).
 */
class DubboRateLimitTest {

    /** A local rate limit of two calls an hour for the service, then Dubbo's router. */
    static final String FILTERS = """
            - name: jmesh.filters.rpc.local_ratelimit
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
                stat_prefix: greeting
                filter_enabled: { default_value: { numerator: 100 } }
                filter_enforced: { default_value: { numerator: 100 } }
                rate_limits:
                - actions:
                  - request_headers: { header_name: ":authority", descriptor_key: service }
                descriptors:
                - entries: [ { key: service, value: io.jmesh.it.rpc.GreetingService } ]
                  token_bucket: { max_tokens: 2, fill_interval: 3600s }
            - name: envoy.filters.generic.router
            """;

    private static DubboThroughProxy mesh;

    @BeforeAll
    static void start() throws Exception {
        mesh = DubboThroughProxy.start(port -> new RpcProxyBootstrap().listener("dubbo", "dubbo", FILTERS,
                RpcProxyBootstrap.routeAll("greeting", "*", "provider")).cluster("provider", port));
    }

    @AfterAll
    static void stop() {
        if (mesh != null) {
            mesh.close();
        }
    }

    @Test
    void callsOverTheLimitGetThreadPoolExhausted() {
        assertEquals("hello a", mesh.greeting.greet("a"));
        assertEquals("hello b", mesh.greeting.greet("b"));
        final RpcException e = assertThrows(RpcException.class, () -> mesh.greeting.greet("c"));
        assertTrue(String.valueOf(e.getMessage()).contains("jmesh: local rate limit exceeded"), e.toString());
        assertEquals(1L, mesh.proxy.stats().counterValues().get("greeting.rpc_local_rate_limit.enforced"));
    }
}
