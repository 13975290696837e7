package io.jmesh.it.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.apache.dubbo.rpc.RpcContext;
import org.apache.dubbo.rpc.RpcException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpServer;

/**
 * Istio's CUSTOM action on a Dubbo port, as discovery writes it: {@code jmesh.filters.rpc.rbac} shadow rules mark the
 * calls of the policy and {@code jmesh.filters.rpc.ext_authz} asks a real HTTP authorization service (the JDK's, on
 * port 0 of 127.0.0.1) about them, in front of a real Dubbo provider called by a real Dubbo consumer: a call whose
 * attachment the service accepts goes through, one it refuses gets Dubbo's own {@code RpcException} with the
 * service's body.
 */
class DubboExtAuthzTest {

    /** Istio's CUSTOM action as discovery writes it: RBAC shadow rules mark the calls, ext_authz asks about them. */
    static final String FILTERS = """
            - name: jmesh.filters.rpc.rbac
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC
                shadow_rules_stat_prefix: istio_ext_authz_
                shadow_rules:
                  action: DENY
                  policies:
                    "istio-ext-authz-ns[default]-policy[greeting]-rule[0]":
                      permissions: [{ url_path: { path: { exact: /io.jmesh.it.rpc.GreetingService/greet } } }]
                      principals: [{ any: true }]
            - name: jmesh.filters.rpc.ext_authz
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
                transport_api_version: V3
                allowed_headers: { patterns: [{ exact: x-caller, ignore_case: true }] }
                http_service:
                  path_prefix: /check
                  server_uri: { uri: "http://ext-authz.default.svc.cluster.local", cluster: authz, timeout: 10s }
                filter_enabled_metadata:
                  filter: jmesh.filters.rpc.rbac
                  path: [{ key: istio_ext_authz_shadow_effective_policy_id }]
                  value: { string_match: { prefix: istio-ext-authz } }
            - name: envoy.filters.generic.router
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.generic_proxy.router.v3.Router
            """;

    private static final List<String> checked = new CopyOnWriteArrayList<>();
    private static HttpServer authz;
    private static DubboThroughProxy mesh;

    @BeforeAll
    static void start() throws Exception {
        authz = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        authz.createContext("/", exchange -> {
            String caller = exchange.getRequestHeaders().getFirst("x-caller");
            checked.add(exchange.getRequestURI() + " x-caller=" + caller);
            byte[] body = "denied by ext authz".getBytes(StandardCharsets.UTF_8);
            if ("friend".equals(caller)) {
                exchange.sendResponseHeaders(200, -1);
                body = new byte[0];
            } else {
                exchange.sendResponseHeaders(403, body.length);
            }
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        authz.start();
        mesh = DubboThroughProxy.start(port -> new RpcProxyBootstrap().listener("dubbo", "dubbo", FILTERS,
                RpcProxyBootstrap.routeAll("greeting", "io.jmesh.it.rpc.GreetingService", "provider"))
                .cluster("provider", port).cluster("authz", authz.getAddress().getPort()));
    }

    @AfterAll
    static void stop() {
        if (mesh != null) {
            mesh.close();
        }
        if (authz != null) {
            authz.stop(0);
        }
    }

    @Test
    void theServiceDecidesTheCallsOfTheCustomPolicy() {
        final RpcException denied = assertThrows(RpcException.class, () -> mesh.greeting.greet("stranger"));
        assertTrue(String.valueOf(denied.getMessage()).contains("denied by ext authz"), denied.toString());
        RpcContext.getClientAttachment().setAttachment("x-caller", "friend");
        assertEquals("hello friend", mesh.greeting.greet("friend"));
        assertEquals(List.of("/check/io.jmesh.it.rpc.GreetingService/greet x-caller=null",
                "/check/io.jmesh.it.rpc.GreetingService/greet x-caller=friend"), List.copyOf(checked));
        assertEquals(1L, mesh.proxy.stats().counterValues().get("rpc.dubbo.ext_authz.ok"));
        assertEquals(1L, mesh.proxy.stats().counterValues().get("rpc.dubbo.ext_authz.denied"));
    }
}
