package io.jmesh.it.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;


import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.rpc.RpcContext;
import org.apache.dubbo.rpc.RpcException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.jmesh.proxy.config.BootstrapLoader;
import io.jmesh.proxy.server.ProxyServer;

/**
 * A real Dubbo 3.3.6 consumer (direct mode) calls a real Dubbo provider through the proxy's rpc_proxy
 * filter: calls, routing on an attachment, a local error reply seen by the consumer, and its timeout.
 */
class DubboThroughProxyTest {

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
                        route_config:
                          virtual_hosts:
                          - name: greeting
                            domains: ["io.jmesh.it.rpc.GreetingService"]
                            routes:
                            - match: { prefix: "/", headers: [{ name: x-route, string_match: { exact: dead } }] }
                              route: { cluster: dead }
                            - match: { prefix: "/", headers: [{ name: version, string_match: { exact: "1.0.0" } }] }
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
              - name: dead
                connect_timeout: 1s
                type: STATIC
                load_assignment:
                  cluster_name: dead
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
        proxy = ProxyServer.start(BootstrapLoader.parse(String.format(CONFIG, port, RpcMesh.freePort())), 1);
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

    private static long counter(String name) {
        return proxy.stats().counterValues().getOrDefault(name, 0L);
    }

    @Test
    void realCallsGoThroughTheProxy() {
        for (int i = 0; i < 20; i++) {
            assertEquals("hello mesh" + i, greeting.greet("mesh" + i));
        }
        final String big = "x".repeat(300_000);
        assertEquals("hello " + big, greeting.greet(big));
        assertTrue(counter("rpc.dubbo.service.io.jmesh.it.rpc.GreetingService.method.greet.request_total") >= 21);
    }

    @Test
    void localErrorRepliesReachTheConsumer() {
        RpcContext.getClientAttachment().setAttachment("x-route", "dead");
        final RpcException e = assertThrows(RpcException.class, () -> greeting.greet("a"));
        assertTrue(String.valueOf(e.getMessage()).contains("jmesh: upstream connect error"), e.toString());
        assertEquals("hello b", greeting.greet("b"));
        assertTrue(counter("rpc.dubbo.local_reply") >= 1);
    }
}
