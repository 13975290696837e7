package io.jmesh.it.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.dubbo.rpc.RpcContext;
import org.apache.dubbo.rpc.RpcException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real Dubbo 3.3.6 consumer (direct mode) calls a real Dubbo provider through the proxy's rpc_proxy
 * filter: calls, routing on an attachment, a local error reply seen by the consumer, and its timeout.
 */
class DubboThroughProxyTest {

    /** Calls with attachment {@code x-route: dead} go to a port nothing listens on; version 1.0.0 to the provider. */
    static final String VIRTUAL_HOSTS = """
            - name: greeting
              domains: ["io.jmesh.it.rpc.GreetingService"]
              routes:
              - match: { prefix: "/", headers: [{ name: x-route, string_match: { exact: dead } }] }
                route: { cluster: dead }
              - match: { prefix: "/", headers: [{ name: version, string_match: { exact: "1.0.0" } }] }
                route: { cluster: provider }
            """;

    private static DubboThroughProxy mesh;

    @BeforeAll
    static void start() throws Exception {
        int dead = RpcMesh.freePort();
        mesh = DubboThroughProxy.start(port -> new RpcProxyBootstrap().listener("dubbo", "dubbo", "", VIRTUAL_HOSTS)
                .cluster("provider", port).cluster("dead", dead));
    }

    @AfterAll
    static void stop() {
        if (mesh != null) {
            mesh.close();
        }
    }

    @Test
    void realCallsGoThroughTheProxy() {
        String requests = "rpc.dubbo.service.io.jmesh.it.rpc.GreetingService.method.greet.request_total";
        long before = mesh.counter(requests);
        for (int i = 0; i < 20; i++) {
            assertEquals("hello mesh" + i, mesh.greeting.greet("mesh" + i));
        }
        final String big = "x".repeat(300_000);
        assertEquals("hello " + big, mesh.greeting.greet(big));
        assertEquals(21, mesh.counter(requests) - before);
    }

    @Test
    void localErrorRepliesReachTheConsumer() {
        long before = mesh.counter("rpc.dubbo.local_reply");
        RpcContext.getClientAttachment().setAttachment("x-route", "dead");
        final RpcException e = assertThrows(RpcException.class, () -> mesh.greeting.greet("a"));
        assertTrue(String.valueOf(e.getMessage()).contains("jmesh: upstream connect error"), e.toString());
        assertEquals("hello b", mesh.greeting.greet("b"));
        assertEquals(1, mesh.counter("rpc.dubbo.local_reply") - before);
    }
}
