package io.jmesh.it.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.alipay.sofa.rpc.config.ServerConfig;
import com.alipay.sofa.rpc.context.RpcInvokeContext;
import com.alipay.sofa.rpc.core.exception.RpcErrorType;
import com.alipay.sofa.rpc.core.exception.SofaRpcException;

import io.jmesh.proxy.server.ProxyServer;

/**
 * {@code jmesh.filters.rpc.local_ratelimit} and {@code jmesh.filters.rpc.ratelimit} (against a real
 * {@code jmesh ratelimit}) in front of a real SOFARPC provider: a real SOFARPC consumer over its limit gets Bolt's
 * {@code SERVER_THREADPOOL_BUSY}, i.e. SOFARPC's "server busy" error, and its connection goes on.
 */
class SofaRpcRateLimitTest {

    /** Listener sofarpc: a local limit of two sayHello calls an hour for tenant t1. */
    static final String LOCAL_FILTERS = """
            - name: jmesh.filters.rpc.local_ratelimit
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
                stat_prefix: hello
                token_bucket: { max_tokens: 1000, fill_interval: 3600s }
                filter_enabled: { default_value: { numerator: 100 } }
                filter_enforced: { default_value: { numerator: 100 } }
                rate_limits:
                - actions:
                  - request_headers: { header_name: ":method", descriptor_key: method }
                  - request_headers: { header_name: "x-tenant", descriptor_key: tenant }
                descriptors:
                - entries: [ { key: method, value: sayHello }, { key: tenant, value: t1 } ]
                  token_bucket: { max_tokens: 2, fill_interval: 3600s }
            - name: envoy.filters.generic.router
            """;

    /** Listener sofarpc-global: the global rate limit service of cluster rls, asked per service and method. */
    static final String GLOBAL_FILTERS = """
            - name: jmesh.filters.rpc.ratelimit
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit
                domain: rpc
                timeout: 10s
                rate_limit_service:
                  transport_api_version: V3
                  grpc_service: { envoy_grpc: { cluster_name: rls } }
            - name: envoy.filters.generic.router
            """;

    static final String GLOBAL_VIRTUAL_HOSTS = """
            - name: hello
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route:
                  cluster: provider
                  rate_limits:
                  - actions:
                    - request_headers: { header_name: ":authority", descriptor_key: service }
                    - request_headers: { header_name: ":method", descriptor_key: method }
            """;

    static final String LIMITS = """
            domain: rpc
            descriptors:
              - key: service
                value: io.jmesh.it.rpc.HelloService
                descriptors:
                  - key: method
                    value: sayHello
                    rate_limit: { unit: hour, requests_per_unit: 1 }
            """;

    private static ServerConfig serverConfig;
    private static ProxyServer proxy;
    private static io.jmesh.ratelimit.RateLimitServer rls;

    @BeforeAll
    static void start() throws Exception {
        final int port = RpcMesh.freePort(); // SOFARPC does not report an ephemeral port back
        serverConfig = SofaApps.provider(port);
        java.nio.file.Path limits = java.nio.file.Files.createTempFile("limits", ".yaml");
        java.nio.file.Files.writeString(limits, LIMITS);
        rls = io.jmesh.ratelimit.RateLimitServer.start(io.jmesh.ratelimit.RateLimitServer.Options.of(limits).port(0)
                .epochSeconds(() -> 1_700_000_000L / 3600 * 3600));
        proxy = new RpcProxyBootstrap()
                .listener("sofarpc", "bolt", LOCAL_FILTERS,
                        RpcProxyBootstrap.routeAll("hello", "io.jmesh.it.rpc.HelloService", "provider"))
                .listener("sofarpc-global", "bolt", GLOBAL_FILTERS, GLOBAL_VIRTUAL_HOSTS)
                .cluster("rls", rls.port()).cluster("provider", port).start();
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
        if (serverConfig != null) {
            serverConfig.destroy();
        }
        if (rls != null) {
            rls.close();
        }
    }

    private static HelloService consumer(String listener) {
        return SofaApps.consumer(proxy.listenerAddresses().get(listener)).setTimeout(15000).refer();
    }

    @Test
    void callsOverTheGlobalLimitGetServerBusy() {
        final HelloService hello = consumer("sofarpc-global");
        assertEquals("hello a", hello.sayHello("a", 1));
        final SofaRpcException e = assertThrows(SofaRpcException.class, () -> hello.sayHello("b", 1));
        assertEquals(RpcErrorType.SERVER_BUSY, e.getErrorType(), e.toString());
        assertEquals(1L, proxy.stats().counterValues().get("rpc.sofarpc_global.ratelimit.ok"));
        assertEquals(1L, proxy.stats().counterValues().get("rpc.sofarpc_global.ratelimit.over_limit"));
    }

    @Test
    void callsOverTheLimitGetServerBusy() {
        final HelloService hello = consumer("sofarpc");
        try {
            RpcInvokeContext.getContext().addCustomHeader("x-tenant", "t1");
            assertEquals("hello a", hello.sayHello("a", 1));
            RpcInvokeContext.getContext().addCustomHeader("x-tenant", "t1");
            assertEquals("hello b", hello.sayHello("b", 1));
            RpcInvokeContext.getContext().addCustomHeader("x-tenant", "t1");
            final SofaRpcException e = assertThrows(SofaRpcException.class, () -> hello.sayHello("c", 1));
            assertEquals(RpcErrorType.SERVER_BUSY, e.getErrorType(), e.toString());
        } finally {
            RpcInvokeContext.removeContext();
        }
        RpcInvokeContext.getContext().addCustomHeader("x-tenant", "t2");
        try {
            assertEquals("hello d", hello.sayHello("d", 1), "another tenant has its own (default) bucket");
        } finally {
            RpcInvokeContext.removeContext();
        }
        assertEquals(1L, proxy.stats().counterValues().get("hello.rpc_local_rate_limit.rate_limited"));
        assertEquals(3L, proxy.stats().counterValues().get("hello.rpc_local_rate_limit.ok"));
    }
}
