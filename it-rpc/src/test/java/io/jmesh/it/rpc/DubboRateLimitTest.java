package io.jmesh.it.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;


import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.rpc.RpcException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.jmesh.proxy.config.BootstrapLoader;
import io.jmesh.proxy.server.ProxyServer;

/**
 * {@code jmesh.filters.rpc.local_ratelimit} in front of a real Dubbo provider: a real Dubbo consumer over the limit of
 * its service gets status 100 {@code SERVER_THREADPOOL_EXHAUSTED_ERROR} with jmesh's message (Dubbo's client turns
 * a non-OK status into an {@code RpcException} carrying the reply's message).
 */
class DubboRateLimitTest {

    static final String CONFIG = """
            static_resources:
              listeners:
              - name: dubbo
                address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
                filter_chains:
                - filters:
                  - name: jmesh.filters.network.rpc_proxy
                    typed_config:
                      "@type": type.googleapis.com/xds.type.v3.TypedStruct
                      type_url: type.googleapis.com/jmesh.filters.network.rpc_proxy.v1.RpcProxy
                      value:
                        stat_prefix: dubbo
                        protocol: dubbo
                        filters:
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
                        route_config:
                          virtual_hosts:
                          - name: greeting
                            domains: ["*"]
                            routes:
                            - match: { prefix: "/" }
                              route: { cluster: provider }
              clusters:
              - name: provider
                connect_timeout: 1s
                type: STATIC
                load_assignment:
                  cluster_name: provider
                  endpoints:
                  - lb_endpoints:
                    - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } }
            """;

    private static DubboBootstrap provider;
    private static DubboBootstrap consumer;
    private static ProxyServer proxy;
    private static GreetingService greeting;

    @BeforeAll
    static void start() throws Exception {
        final int port = RpcMesh.freePort();
        provider = DubboApps.provider(port);
        proxy = ProxyServer.start(BootstrapLoader.parse(String.format(CONFIG, port)), 1);
        final ReferenceConfig<GreetingService> reference = new ReferenceConfig<>();
        consumer = DubboApps.consumer(proxy.listenerAddresses().get("dubbo"), reference);
        greeting = reference.get();
    }

    @AfterAll
    static void stop() {
        if (consumer != null) {
            consumer.stop();
        }
        if (proxy != null) {
            proxy.close();
        }
        if (provider != null) {
            provider.stop();
        }
    }

    @Test
    void callsOverTheLimitGetThreadPoolExhausted() {
        assertEquals("hello a", greeting.greet("a"));
        assertEquals("hello b", greeting.greet("b"));
        final RpcException e = assertThrows(RpcException.class, () -> greeting.greet("c"));
        assertTrue(String.valueOf(e.getMessage()).contains("jmesh: local rate limit exceeded"), e.toString());
        assertEquals(1L, proxy.stats().counterValues().get("greeting.rpc_local_rate_limit.enforced"));
    }
}
