package io.jmesh.it.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;

import org.apache.dubbo.config.ApplicationConfig;
import org.apache.dubbo.config.ProtocolConfig;
import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.RegistryConfig;
import org.apache.dubbo.config.ServiceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.rpc.RpcContext;
import org.apache.dubbo.rpc.RpcException;
import org.apache.dubbo.rpc.model.FrameworkModel;
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

    private static int freePort() throws Exception {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return probe.getLocalPort();
        }
    }

    @BeforeAll
    static void start() throws Exception {
        DubboApps.setLocalHost("127.0.0.1"); // Dubbo would dial another address (PEERS.md)
        final int port = freePort();
        final ServiceConfig<GreetingService> service = new ServiceConfig<>();
        service.setInterface(GreetingService.class);
        service.setRef(name -> "hello " + name);
        service.setVersion("1.0.0");
        final ProtocolConfig protocol = new ProtocolConfig("dubbo", port);
        protocol.setHost("127.0.0.1");
        final ApplicationConfig providerApp = new ApplicationConfig("greeting-provider");
        providerApp.setQosEnable(false);
        provider = DubboBootstrap.newInstance(new FrameworkModel())
                                 .application(providerApp)
                                 .registry(new RegistryConfig("N/A"))
                                 .protocol(protocol)
                                 .service(service)
                                 .start();
        proxy = ProxyServer.start(BootstrapLoader.parse(String.format(CONFIG, port, freePort())), 1);

        final ReferenceConfig<GreetingService> reference = new ReferenceConfig<>();
        reference.setInterface(GreetingService.class);
        reference.setVersion("1.0.0");
        reference.setUrl("dubbo://127.0.0.1:" + proxy.listenerAddresses().get("dubbo").getPort());
        reference.setTimeout(5000);
        reference.setRetries(0);
        final ApplicationConfig consumerApp = new ApplicationConfig("greeting-consumer");
        consumerApp.setQosEnable(false);
        consumer = DubboBootstrap.newInstance(new FrameworkModel())
                                 .application(consumerApp)
                                 .registry(new RegistryConfig("N/A"))
                                 .reference(reference)
                                 .start();
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
