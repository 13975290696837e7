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
 * {@code jmesh.filters.rpc.rbac} in front of a real Dubbo provider, called by a real Dubbo consumer: a policy written
 * as for HTTP (path {@code /<interface>/<method>}, an attachment as a header) lets the matching call through, and the
 * consumer of a denied call gets Dubbo's own {@code RpcException} with {@code RBAC: access denied}.
 */
class DubboRbacTest {

    /** The RBAC filter of Istio's ALLOW policy: the greet method, for callers whose attachment says friend. */
    static final String FILTERS = """
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
            """;

    private static DubboThroughProxy mesh;

    @BeforeAll
    static void start() throws Exception {
        mesh = DubboThroughProxy.start(port -> new RpcProxyBootstrap().listener("dubbo", "dubbo", FILTERS,
                RpcProxyBootstrap.routeAll("greeting", "io.jmesh.it.rpc.GreetingService", "provider"))
                .cluster("provider", port));
    }

    @AfterAll
    static void stop() {
        if (mesh != null) {
            mesh.close();
        }
    }

    @Test
    void deniedCallsGetDubbosOwnErrorAndAllowedOnesGoThrough() {
        final RpcException denied = assertThrows(RpcException.class, () -> mesh.greeting.greet("stranger"));
        assertTrue(String.valueOf(denied.getMessage()).contains("RBAC: access denied"), denied.toString());
        RpcContext.getClientAttachment().setAttachment("x-caller", "friend");
        assertEquals("hello friend", mesh.greeting.greet("friend"));
        assertEquals(1L, mesh.proxy.stats().counterValues().get("rpc.dubbo.rbac.allowed"));
        assertEquals(1L, mesh.proxy.stats().counterValues().get("rpc.dubbo.rbac.denied"));
    }
}
