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

import io.jmesh.proxy.server.ProxyServer;

/**
 * A real SOFARPC 5.13.2 consumer (direct mode) calls a real SOFARPC provider through the proxy's
 * rpc_proxy filter: calls, routing on a custom header, and local error replies seen by the consumer.
 */
class SofaRpcThroughProxyTest {

    /** Calls with header {@code x-route: dead} go to a port nothing listens on; sayHello to the provider. */
    static final String VIRTUAL_HOSTS = """
            - name: hello
              domains: ["io.jmesh.it.rpc.HelloService"]
              routes:
              - match: { prefix: "/", headers: [{ name: x-route, string_match: { exact: dead } }] }
                route: { cluster: dead }
              - match: { path: "/io.jmesh.it.rpc.HelloService/sayHello" }
                route: { cluster: provider }
            """;

    private static ServerConfig serverConfig;
    private static ProxyServer proxy;

    @BeforeAll
    static void start() throws Exception {
        final int port = RpcMesh.freePort();
        serverConfig = SofaApps.provider(port);
        proxy = new RpcProxyBootstrap().listener("sofarpc", "bolt", "", VIRTUAL_HOSTS).cluster("provider", port)
                .cluster("dead", RpcMesh.freePort()).start();
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
        String requests = "rpc.sofarpc.service.io.jmesh.it.rpc.HelloService.method.sayHello.request_total";
        long before = counter(requests);
        final HelloService hello = consumer();
        for (int i = 1; i <= 20; i++) {
            assertEquals(("hello mesh ").repeat(i % 3 + 1).trim(), hello.sayHello("mesh", i % 3 + 1));
        }
        final String big = "x".repeat(300_000);
        assertEquals("hello " + big, hello.sayHello(big, 1));
        assertEquals(21, counter(requests) - before);
    }

    @Test
    void localErrorRepliesReachTheConsumer() {
        long before = counter("rpc.sofarpc.local_reply");
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
        assertEquals(1, counter("rpc.sofarpc.local_reply") - before);
    }
}
