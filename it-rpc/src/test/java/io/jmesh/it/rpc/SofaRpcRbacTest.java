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
 * {@code jmesh.filters.rpc.rbac} in front of a real SOFARPC provider, called by a real SOFARPC consumer: a policy
 * written as for HTTP (path {@code /<interface>/<method>}, a header) lets the matching call through, and the consumer
 * of a denied call gets SOFARPC's own exception with {@code RBAC: access denied}.
 */
class SofaRpcRbacTest {

    /** The RBAC filter of Istio's ALLOW policy: sayHello, for callers whose header says friend. */
    static final String FILTERS = """
            - name: jmesh.filters.rpc.rbac
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC
                rules:
                  action: ALLOW
                  policies:
                    "ns[default]-policy[hello]-rule[0]":
                      permissions:
                      - and_rules:
                          rules:
                          - url_path: { path: { exact: /io.jmesh.it.rpc.HelloService/sayHello } }
                          - header: { name: x-caller, string_match: { exact: friend } }
                      principals: [{ any: true }]
            - name: envoy.filters.generic.router
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.generic_proxy.router.v3.Router
            """;

    private static ServerConfig serverConfig;
    private static ProxyServer proxy;

    @BeforeAll
    static void start() throws Exception {
        final int port = RpcMesh.freePort(); // SOFARPC does not report an ephemeral port back
        serverConfig = SofaApps.provider(port);
        proxy = new RpcProxyBootstrap().listener("sofarpc", "bolt", FILTERS,
                RpcProxyBootstrap.routeAll("hello", "io.jmesh.it.rpc.HelloService", "provider")).cluster("provider", port)
                .start();
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

    @Test
    void deniedCallsGetSofaRpcsOwnErrorAndAllowedOnesGoThrough() {
        final HelloService hello = SofaApps.consumer(proxy.listenerAddresses().get("sofarpc")).refer();
        final SofaRpcException denied = assertThrows(SofaRpcException.class, () -> hello.sayHello("stranger", 1));
        assertTrue(String.valueOf(denied.getMessage()).contains("RBAC: access denied"), denied.toString());
        RpcInvokeContext.getContext().addCustomHeader("x-caller", "friend");
        try {
            assertEquals("hello friend", hello.sayHello("friend", 1));
        } finally {
            RpcInvokeContext.removeContext();
        }
        assertEquals(1L, proxy.stats().counterValues().get("rpc.sofarpc.rbac.allowed"));
        assertEquals(1L, proxy.stats().counterValues().get("rpc.sofarpc.rbac.denied"));
    }
}
