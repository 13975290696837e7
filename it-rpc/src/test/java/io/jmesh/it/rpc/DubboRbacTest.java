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
 * {@code jmesh.filters.rpc.rbac} in front of a real Dubbo provider, called by a real Dubbo consumer: a policy written
 * as for HTTP (path {@code /<interface>/<method>}, an attachment as a header) lets the matching call through, and the
 * consumer of a denied call gets Dubbo's own {@code RpcException} with {@code RBAC: access denied}.
 */
class DubboRbacTest {

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
                        - name: jmesh.filters.rpc.rbac
                          typed_config:
                            "@type": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC
                            rules:
                              action: ALLOW
                              policies:
                                "ns[default]-policy[greeting]-rule[0]":
                                  permissions:
                                  - and_rules:
                                      rules:
                                      - url_path: { path: { exact: /io.jmesh.it.rpc.GreetingService/greet } }
                                      - header: { name: x-caller, string_match: { exact: friend } }
                                  principals: [{ any: true }]
                        - name: envoy.filters.generic.router
                          typed_config:
                            "@type": type.googleapis.com/envoy.extensions.filters.network.generic_proxy.router.v3.Router
                        route_config:
                          virtual_hosts:
                          - name: greeting
                            domains: ["io.jmesh.it.rpc.GreetingService"]
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
    void deniedCallsGetDubbosOwnErrorAndAllowedOnesGoThrough() {
        final RpcException denied = assertThrows(RpcException.class, () -> greeting.greet("stranger"));
        assertTrue(String.valueOf(denied.getMessage()).contains("RBAC: access denied"), denied.toString());
        RpcContext.getClientAttachment().setAttachment("x-caller", "friend");
        assertEquals("hello friend", greeting.greet("friend"));
        assertEquals(1L, proxy.stats().counterValues().get("rpc.dubbo.rbac.allowed"));
        assertEquals(1L, proxy.stats().counterValues().get("rpc.dubbo.rbac.denied"));
    }
}
