package io.jmesh.it.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;


import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.alipay.sofa.rpc.config.ServerConfig;
import com.alipay.sofa.rpc.context.RpcInvokeContext;
import com.alipay.sofa.rpc.core.exception.SofaRpcException;

import io.jmesh.proxy.config.BootstrapLoader;
import io.jmesh.proxy.server.ProxyServer;

/**
 * A real SOFARPC 5.13.2 consumer (direct mode) calls a real SOFARPC provider through the proxy's
 * rpc_proxy filter: calls, routing on a custom header, and local error replies seen by the consumer.
 */
class SofaRpcThroughProxyTest {

    static final String CONFIG = """
            static_resources:
              listeners:
              - name: sofarpc
                address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
                filter_chains:
                - filters:
                  - name: jmesh.filters.network.rpc_proxy
                    typed_config:
                      "@type": type.googleapis.com/xds.type.v3.TypedStruct
                      type_url: type.googleapis.com/jmesh.filters.network.rpc_proxy.v1.RpcProxy
                      value:
                        stat_prefix: sofarpc
                        protocol: bolt
                        route_config:
                          virtual_hosts:
                          - name: hello
                            domains: ["io.jmesh.it.rpc.HelloService"]
                            routes:
                            - match: { prefix: "/", headers: [{ name: x-route, string_match: { exact: dead } }] }
                              route: { cluster: dead }
                            - match: { path: "/io.jmesh.it.rpc.HelloService/sayHello" }
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

    private static ServerConfig serverConfig;
    private static ProxyServer proxy;


    @BeforeAll
    static void start() throws Exception {
        final int port = RpcMesh.freePort();
        serverConfig = SofaApps.provider(port);
        proxy = ProxyServer.start(BootstrapLoader.parse(String.format(CONFIG, port, RpcMesh.freePort())), 1);
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
        if (serverConfig != null) {
            serverConfig.destroy();
        }
    }

    private static HelloService consumer() {
        final int port = proxy.listenerAddresses().get("sofarpc").getPort();
        return SofaApps.consumer(new java.net.InetSocketAddress("127.0.0.1", port)).refer();
    }

    private static long counter(String name) {
        return proxy.stats().counterValues().getOrDefault(name, 0L);
    }

    @Test
    void realCallsGoThroughTheProxy() {
        final HelloService hello = consumer();
        for (int i = 1; i <= 20; i++) {
            assertEquals(("hello mesh ").repeat(i % 3 + 1).trim(), hello.sayHello("mesh", i % 3 + 1));
        }
        final String big = "x".repeat(300_000);
        assertEquals("hello " + big, hello.sayHello(big, 1));
        assertTrue(counter("rpc.sofarpc.service.io.jmesh.it.rpc.HelloService.method.sayHello.request_total") >= 21);
    }

    @Test
    void localErrorRepliesReachTheConsumer() {
        final HelloService hello = consumer();
        RpcInvokeContext.getContext().addCustomHeader("x-route", "dead");
        try {
            final SofaRpcException e = assertThrows(SofaRpcException.class, () -> hello.sayHello("a", 1));
            assertTrue(e.getMessage() != null, e.toString());
        } finally {
            RpcInvokeContext.removeContext();
        }
        // The consumer's connection still works.
        assertEquals("hello b", hello.sayHello("b", 1));
        assertTrue(counter("rpc.sofarpc.local_reply") >= 1);
    }
}
