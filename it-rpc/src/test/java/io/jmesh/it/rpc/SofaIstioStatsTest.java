package io.jmesh.it.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.alipay.sofa.rpc.config.ServerConfig;

import io.jmesh.proxy.config.BootstrapLoader;
import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.StatsRenderer;
import io.jmesh.proxy.telemetry.TaggedMetrics;

/**
 * Istio's request metrics for Bolt: a real SOFARPC consumer → client sidecar (outbound rpc_proxy with
 * {@code istio.stats}) → server sidecar (inbound, {@code istio.stats} with an opt-in method label) → a real
 * SOFARPC provider. The server side knows the consumer's workload from the peer metadata the client sidecar put
 * in the Bolt header map.
 */
class SofaIstioStatsTest {

    static final String SIDECAR = """
            node:
              id: "%1$s"
              metadata: { WORKLOAD_NAME: %2$s, NAMESPACE: default, CLUSTER_ID: Kubernetes,
                          LABELS: { app: %3$s, version: v1 } }
            static_resources:
              listeners:
              - name: bolt
                address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
                traffic_direction: %4$s
                filter_chains:
                - filters:
                  - name: jmesh.filters.network.rpc_proxy
                    typed_config:
                      "@type": type.googleapis.com/xds.type.v3.TypedStruct
                      type_url: type.googleapis.com/jmesh.filters.network.rpc_proxy.v1.RpcProxy
                      value:
                        stat_prefix: bolt
                        protocol: bolt
                        filters:
                        - name: istio.stats
                          typed_config:
                            "@type": type.googleapis.com/xds.type.v3.TypedStruct
                            type_url: type.googleapis.com/stats.PluginConfig
                            value: %5$s
                        - name: envoy.filters.generic.router
                        route_config:
                          virtual_hosts:
                          - name: hello
                            domains: ["*"]
                            routes:
                            - match: { prefix: "/" }
                              route: { cluster: "%6$s" }
              clusters:
              - name: "%6$s"
                connect_timeout: 1s
                type: STATIC
                load_assignment:
                  cluster_name: "%6$s"
                  endpoints:
                  - lb_endpoints:
                    - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %7$d } } }
            """;

    static final String SERVICE = "outbound|12200||hello.default.svc.cluster.local";

    private static ServerConfig serverConfig;
    private static ProxyServer server;
    private static ProxyServer client;


    @BeforeAll
    static void start() throws Exception {
        final int port = RpcMesh.freePort();
        serverConfig = SofaApps.provider(port);
        server = ProxyServer.start(BootstrapLoader.parse(String.format(SIDECAR,
                "sidecar~127.0.0.2~hello-v1-1.default~default.svc.cluster.local", "hello-v1", "hello", "INBOUND",
                "{ metrics: [ { name: requests_total, dimensions: { rpc_method: request.method } } ] }",
                "inbound|12200||", port)), 1);
        client = ProxyServer.start(BootstrapLoader.parse(String.format(SIDECAR,
                "sidecar~127.0.0.1~consumer-v1-1.default~default.svc.cluster.local", "consumer-v1", "consumer",
                "OUTBOUND", "{}", SERVICE, server.listenerAddresses().get("bolt").getPort())), 1);
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        if (server != null) {
            server.close();
        }
        if (serverConfig != null) {
            serverConfig.destroy();
        }
    }

    /** The series of {@code istio_requests_total} as label maps. */
    static Map<Map<String, String>, Long> requests(ProxyServer proxy) {
        TaggedMetrics.Family f = proxy.stats().tagged().families().get("istio_requests_total");
        Map<Map<String, String>, Long> out = new HashMap<>();
        if (f == null) {
            return out;
        }
        List<String> names = f.labelNames();
        f.series().forEach((values, series) -> {
            Map<String, String> labels = new LinkedHashMap<>();
            for (int i = 0; i < names.size(); i++) {
                labels.put(names.get(i), values.get(i));
            }
            out.put(labels, ((Counter) series).get());
        });
        return out;
    }

    static Map<String, String> labels(boolean server) {
        Map<String, String> l = new LinkedHashMap<>();
        l.put("reporter", server ? "destination" : "source");
        l.put("source_workload", "consumer-v1");
        l.put("source_workload_namespace", "default");
        l.put("source_principal", "unknown");
        l.put("source_app", "consumer");
        l.put("source_version", "v1");
        l.put("source_canonical_service", "unknown");
        l.put("source_canonical_revision", "latest");
        l.put("source_cluster", "Kubernetes");
        String u = "unknown";
        l.put("destination_workload", server ? "hello-v1" : u);
        l.put("destination_workload_namespace", server ? "default" : u);
        l.put("destination_principal", u);
        l.put("destination_app", server ? "hello" : u);
        l.put("destination_version", server ? "v1" : u);
        l.put("destination_service", server ? HelloService.class.getName() : "hello.default.svc.cluster.local");
        l.put("destination_service_name", server ? HelloService.class.getName() : "hello");
        l.put("destination_service_namespace", "default");
        l.put("destination_canonical_service", server ? "unknown" : u);
        l.put("destination_canonical_revision", server ? "latest" : u);
        l.put("destination_cluster", server ? "Kubernetes" : u);
        l.put("request_protocol", "bolt");
        l.put("response_flags", "-");
        l.put("connection_security_policy", server ? "none" : u);
        l.put("response_code", "200");
        l.put("grpc_response_status", "");
        if (server) {
            l.put("rpc_method", "sayHello");
        }
        return l;
    }

    @Test
    void boltCallsAreIstioRequestsOnBothSidecars() throws Exception {
        HelloService hello = SofaApps.consumer(client.listenerAddresses().get("bolt")).refer();
        for (int i = 0; i < 3; i++) {
            assertEquals("hello mesh hello mesh", hello.sayHello("mesh", 2));
        }
        RpcMesh.await("3 calls recorded on both sides",
                () -> requests(client).values().stream().mapToLong(Long::longValue).sum() == 3
                        && requests(server).values().stream().mapToLong(Long::longValue).sum() == 3);
        assertEquals(Map.of(labels(false), 3L), requests(client));
        assertEquals(Map.of(labels(true), 3L), requests(server));
        String text = StatsRenderer.prometheus(server.stats());
        String line = text.lines().filter(s -> s.startsWith("istio_requests_total{")).findFirst().orElseThrow();
        assertEquals(true, line.endsWith(",rpc_method=\"sayHello\"} 3"), line);
    }
}
