package io.jmesh.discovery.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.ConfigMeta;
import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.discovery.config.ConfigSnapshot;
import io.jmesh.discovery.config.EnvoyFilter;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.discovery.registry.file.FileServiceRegistry;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * EnvoyFilter patches on what discovery generates for a proxy, checked on the generated resources (what
 * {@code jmesh proxy-config} and the proxy see): each object kind and operation, the contexts, workload selection,
 * the root namespace, priority order, proxy version, the cache, and a value that cannot apply being skipped.
 */
class EnvoyFilterPatchTest {

    private static final String MESH = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: reviews, namespace: shop}
            spec:
              hosts: [reviews.shop.svc.cluster.local]
              location: MESH_INTERNAL
              resolution: STATIC
              ports: [{number: 9080, name: http, protocol: HTTP}]
              workloadSelector: {labels: {tier: backend}}
            ---
            apiVersion: networking.istio.io/v1
            kind: WorkloadEntry
            metadata: {name: reviews-1, namespace: shop}
            spec: {address: 10.0.0.5, labels: {app: reviews, tier: backend}}
            ---
            apiVersion: networking.istio.io/v1
            kind: WorkloadEntry
            metadata: {name: ratings-1, namespace: shop}
            spec: {address: 10.0.0.6, labels: {app: ratings, tier: backend}}
            """;

    private static MeshSnapshot snapshot(String filters) {
        ConfigParser.Result parsed = ConfigParser.parse(Path.of("mesh.yaml"), MESH + "---\n" + filters);
        assertEquals(List.of(), parsed.errors());
        return snapshot(parsed.configs());
    }

    private static MeshSnapshot snapshot(List<Config<?>> configs) {
        ConfigSnapshot config = new ConfigSnapshot(configs, List.of(), MeshConfig.DEFAULT);
        FileServiceRegistry registry = new FileServiceRegistry();
        registry.update(config);
        return new MeshSnapshot(1, config, registry.services(), registry.endpoints());
    }

    private static ProxyNode sidecar(String ip, String app, String version) throws Exception {
        Struct.Builder md = Struct.newBuilder().putFields("LABELS", Value.newBuilder().setStructValue(Struct.newBuilder()
                .putFields("app", Value.newBuilder().setStringValue(app).build())).build());
        if (version != null) {
            md.putFields("ISTIO_VERSION", Value.newBuilder().setStringValue(version).build());
        }
        return ProxyNode.of(Node.newBuilder().setId("sidecar~" + ip + "~" + app + "-1.shop~shop.svc.cluster.local")
                .setMetadata(md).build());
    }

    private static ProxyNode reviews() throws Exception {
        return sidecar("10.0.0.5", "reviews", null);
    }

    private static List<String> inboundHttpFilters(ProxyNode proxy, MeshSnapshot snapshot) throws Exception {
        return hcm(inboundChain(proxy, snapshot)).getHttpFiltersList().stream().map(HttpFilter::getName).toList();
    }

    private static FilterChain inboundChain(ProxyNode proxy, MeshSnapshot snapshot) {
        Listener inbound = (Listener) XdsGenerator.generate(TypeUrls.LISTENER, proxy, snapshot).get("virtualInbound");
        assertNotNull(inbound);
        return inbound.getFilterChainsList().stream().filter(fc -> fc.getName().startsWith("inbound|9080"))
                .findFirst().orElseThrow();
    }

    private static HttpConnectionManager hcm(FilterChain fc) throws InvalidProtocolBufferException {
        Filter f = fc.getFiltersList().stream().filter(x -> x.getName().equals(ListenerGenerator.HCM)).findFirst()
                .orElseThrow();
        return f.getTypedConfig().unpack(HttpConnectionManager.class);
    }

    private static Cluster cluster(ProxyNode proxy, MeshSnapshot snapshot, String name) {
        Map<String, Message> clusters = XdsGenerator.generate(TypeUrls.CLUSTER, proxy, snapshot);
        return (Cluster) clusters.get(name);
    }

    private static final String RATE_LIMIT = """
            apiVersion: networking.istio.io/v1alpha3
            kind: EnvoyFilter
            metadata: {name: filter-local-ratelimit-svc, namespace: istio-system}
            spec:
              workloadSelector: {labels: {app: reviews}}
              configPatches:
              - applyTo: HTTP_FILTER
                match:
                  context: SIDECAR_INBOUND
                  listener: {filterChain: {filter: {name: envoy.filters.network.http_connection_manager}}}
                patch:
                  operation: INSERT_BEFORE
                  value:
                    name: envoy.filters.http.local_ratelimit
                    typed_config:
                      "@type": type.googleapis.com/udpa.type.v1.TypedStruct
                      type_url: type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
                      value:
                        stat_prefix: http_local_rate_limiter
                        token_bucket: {max_tokens: 4, tokens_per_fill: 4, fill_interval: 60s}
            """;

    @Test
    void httpFilterInsertBeforeWithoutSubFilterGoesFirstOnTheSelectedWorkloadsOnly() throws Exception {
        MeshSnapshot s = snapshot(RATE_LIMIT);
        List<String> filters = inboundHttpFilters(reviews(), s);
        assertEquals("envoy.filters.http.local_ratelimit", filters.get(0), filters.toString());
        assertEquals("envoy.filters.http.router", filters.get(filters.size() - 1));
        // Another workload of the namespace is not selected; the outbound listeners are another context.
        assertFalse(inboundHttpFilters(sidecar("10.0.0.6", "ratings", null), s).toString().contains("local_ratelimit"));
        Listener outbound = (Listener) XdsGenerator.generate(TypeUrls.LISTENER, reviews(), s).get("0.0.0.0_9080");
        assertFalse(hcm(outbound.getFilterChains(0)).toString().contains("local_ratelimit"));
    }

    @Test
    void subFilterMatchPositionsAndRemoves() throws Exception {
        MeshSnapshot s = snapshot("""
                apiVersion: networking.istio.io/v1alpha3
                kind: EnvoyFilter
                metadata: {name: f, namespace: shop}
                spec:
                  configPatches:
                  - applyTo: HTTP_FILTER
                    match:
                      context: SIDECAR_INBOUND
                      listener:
                        portNumber: 9080
                        filterChain:
                          filter:
                            name: envoy.filters.network.http_connection_manager
                            subFilter: {name: envoy.filters.http.router}
                    patch:
                      operation: INSERT_BEFORE
                      value:
                        name: envoy.filters.http.local_ratelimit
                        typed_config:
                          "@type": type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit
                          stat_prefix: rl
                  - applyTo: HTTP_FILTER
                    match:
                      listener: {filterChain: {filter: {name: envoy.http_connection_manager, subFilter: {name: envoy.filters.http.cors}}}}
                    patch: {operation: REMOVE}
                """);
        List<String> filters = inboundHttpFilters(reviews(), s);
        assertFalse(filters.contains("envoy.filters.http.cors"), filters.toString());
        assertEquals(List.of("envoy.filters.http.local_ratelimit", "envoy.filters.http.router"),
                filters.subList(filters.size() - 2, filters.size()));
        Listener outbound = (Listener) XdsGenerator.generate(TypeUrls.LISTENER, reviews(), s).get("0.0.0.0_9080");
        List<String> out = hcm(outbound.getFilterChains(0)).getHttpFiltersList().stream().map(HttpFilter::getName)
                .toList();
        assertFalse(out.contains("envoy.filters.http.cors"), "REMOVE in context ANY applies to outbound too: " + out);
        assertFalse(out.contains("envoy.filters.http.local_ratelimit"), "inbound context only: " + out);
    }

    @Test
    void networkFilterMergeAndListenerAddAndRemove() throws Exception {
        MeshSnapshot s = snapshot("""
                apiVersion: networking.istio.io/v1alpha3
                kind: EnvoyFilter
                metadata: {name: f, namespace: shop}
                spec:
                  configPatches:
                  - applyTo: NETWORK_FILTER
                    match:
                      context: SIDECAR_OUTBOUND
                      listener: {portNumber: 9080, filterChain: {filter: {name: envoy.filters.network.http_connection_manager}}}
                    patch:
                      operation: MERGE
                      value:
                        typed_config:
                          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                          max_request_headers_kb: 96
                          common_http_protocol_options: {idle_timeout: 30s}
                  - applyTo: LISTENER
                    match: {context: SIDECAR_OUTBOUND, listener: {name: virtualOutbound}}
                    patch: {operation: REMOVE}
                  - applyTo: LISTENER
                    match: {context: SIDECAR_OUTBOUND}
                    patch:
                      operation: ADD
                      value:
                        name: extra
                        address: {socket_address: {address: 0.0.0.0, port_value: 7777}}
                        filter_chains:
                        - filters:
                          - name: envoy.filters.network.tcp_proxy
                            typed_config:
                              "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                              stat_prefix: extra
                              cluster: PassthroughCluster
                """);
        Map<String, Message> listeners = XdsGenerator.generate(TypeUrls.LISTENER, reviews(), s);
        assertFalse(listeners.containsKey("virtualOutbound"), listeners.keySet().toString());
        assertTrue(listeners.containsKey("extra"), listeners.keySet().toString());
        HttpConnectionManager hcm = hcm(((Listener) listeners.get("0.0.0.0_9080")).getFilterChains(0));
        assertEquals(96, hcm.getMaxRequestHeadersKb().getValue());
        assertEquals(30, hcm.getCommonHttpProtocolOptions().getIdleTimeout().getSeconds());
        assertEquals("9080", hcm.getRds().getRouteConfigName(), "the rest of the filter is kept");
        assertEquals(0, hcm(inboundChain(reviews(), s)).getMaxRequestHeadersKb().getValue(), "inbound untouched");
    }

    @Test
    void clusterMergeAddAndRemove() throws Exception {
        MeshSnapshot s = snapshot("""
                apiVersion: networking.istio.io/v1alpha3
                kind: EnvoyFilter
                metadata: {name: f, namespace: shop}
                spec:
                  configPatches:
                  - applyTo: CLUSTER
                    match: {context: SIDECAR_OUTBOUND, cluster: {service: reviews.shop.svc.cluster.local, portNumber: 9080}}
                    patch: {operation: MERGE, value: {connect_timeout: 7s, per_connection_buffer_limit_bytes: 1024}}
                  - applyTo: CLUSTER
                    match: {cluster: {name: BlackHoleCluster}}
                    patch: {operation: REMOVE}
                  - applyTo: CLUSTER
                    patch:
                      operation: ADD
                      value:
                        name: ratelimit
                        type: STRICT_DNS
                        connect_timeout: 1s
                        load_assignment:
                          cluster_name: ratelimit
                          endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 8081}}}}]}]
                """);
        Cluster c = cluster(reviews(), s, "outbound|9080||reviews.shop.svc.cluster.local");
        assertEquals(7, c.getConnectTimeout().getSeconds());
        assertEquals(0, c.getConnectTimeout().getNanos());
        assertEquals(1024, c.getPerConnectionBufferLimitBytes().getValue());
        Map<String, Message> clusters = XdsGenerator.generate(TypeUrls.CLUSTER, reviews(), s);
        assertFalse(clusters.containsKey("BlackHoleCluster"), clusters.keySet().toString());
        assertTrue(clusters.containsKey("ratelimit"), clusters.keySet().toString());
        assertTrue(cluster(reviews(), s, "inbound|9080||").getConnectTimeout().getSeconds() != 7,
                "the inbound cluster is another context");
    }

    @Test
    void virtualHostAndRouteMergeOnOutboundAndInboundRoutes() throws Exception {
        MeshSnapshot s = snapshot("""
                apiVersion: networking.istio.io/v1alpha3
                kind: EnvoyFilter
                metadata: {name: f, namespace: shop}
                spec:
                  configPatches:
                  - applyTo: VIRTUAL_HOST
                    match: {context: SIDECAR_OUTBOUND, routeConfiguration: {portNumber: 9080, vhost: {name: "reviews.shop.svc.cluster.local:9080"}}}
                    patch:
                      operation: MERGE
                      value: {response_headers_to_add: [{header: {key: x-vhost, value: outbound}}]}
                  - applyTo: HTTP_ROUTE
                    match: {context: SIDECAR_INBOUND, routeConfiguration: {portNumber: 9080, vhost: {route: {name: default, action: ROUTE}}}}
                    patch:
                      operation: MERGE
                      value: {response_headers_to_add: [{header: {key: x-route, value: inbound}}]}
                  - applyTo: HTTP_ROUTE
                    match: {context: SIDECAR_INBOUND, routeConfiguration: {vhost: {route: {name: default}}}}
                    patch:
                      operation: INSERT_BEFORE
                      value: {name: teapot, match: {prefix: /teapot}, direct_response: {status: 418}}
                """);
        RouteConfiguration rc = (RouteConfiguration) XdsGenerator.generate(TypeUrls.ROUTE, reviews(), s).get("9080");
        VirtualHost vh = rc.getVirtualHostsList().stream()
                .filter(v -> v.getName().equals("reviews.shop.svc.cluster.local:9080")).findFirst().orElseThrow();
        assertEquals("x-vhost", vh.getResponseHeadersToAdd(0).getHeader().getKey());
        RouteConfiguration inbound = hcm(inboundChain(reviews(), s)).getRouteConfig();
        VirtualHost ivh = inbound.getVirtualHosts(0);
        assertEquals(List.of("teapot", "default"), ivh.getRoutesList().stream().map(r -> r.getName()).toList());
        assertEquals("x-route", ivh.getRoutes(1).getResponseHeadersToAdd(0).getHeader().getKey());
        assertEquals(0, ivh.getRoutes(0).getResponseHeadersToAddCount(), "the direct response is not a ROUTE action");
    }

    @Test
    void priorityThenRootNamespaceOrderTheFilters() throws Exception {
        // Each filter inserts its own HTTP filter first: the one applied last ends up first.
        String filters = """
                apiVersion: networking.istio.io/v1alpha3
                kind: EnvoyFilter
                metadata: {name: late, namespace: shop}
                spec:
                  priority: 10
                  configPatches: [%s]
                ---
                apiVersion: networking.istio.io/v1alpha3
                kind: EnvoyFilter
                metadata: {name: early, namespace: shop}
                spec:
                  priority: -5
                  configPatches: [%s]
                ---
                apiVersion: networking.istio.io/v1alpha3
                kind: EnvoyFilter
                metadata: {name: mesh, namespace: istio-system}
                spec:
                  configPatches: [%s]
                ---
                apiVersion: networking.istio.io/v1alpha3
                kind: EnvoyFilter
                metadata: {name: local, namespace: shop}
                spec:
                  configPatches: [%s]
                """.formatted(insertFirst("late"), insertFirst("early"), insertFirst("mesh"), insertFirst("local"));
        List<String> http = inboundHttpFilters(reviews(), snapshot(filters));
        assertEquals(List.of("late", "local", "mesh", "early"), http.subList(0, 4));
    }

    private static String insertFirst(String name) {
        return "{applyTo: HTTP_FILTER, match: {context: SIDECAR_INBOUND}, patch: {operation: INSERT_FIRST, value: "
                + "{name: " + name + ", typed_config: {\"@type\": type.googleapis.com/envoy.extensions.filters.http."
                + "local_ratelimit.v3.LocalRateLimit, stat_prefix: " + name + "}}}}";
    }

    @Test
    void proxyVersionRegexAndTheCacheTellProxiesApart() throws Exception {
        MeshSnapshot s = snapshot("""
                apiVersion: networking.istio.io/v1alpha3
                kind: EnvoyFilter
                metadata: {name: f, namespace: shop}
                spec:
                  configPatches:
                  - applyTo: CLUSTER
                    match: {proxy: {proxyVersion: '^1\\.2[0-9]'}, cluster: {portNumber: 9080}}
                    patch: {operation: MERGE, value: {connect_timeout: 9s}}
                """);
        String name = "outbound|9080||reviews.shop.svc.cluster.local";
        assertEquals(9, cluster(sidecar("10.0.0.5", "reviews", "1.24.1"), s, name).getConnectTimeout().getSeconds());
        assertTrue(cluster(sidecar("10.0.0.5", "reviews", "0.1.0"), s, name).getConnectTimeout().getSeconds() != 9);
        assertTrue(cluster(reviews(), s, name).getConnectTimeout().getSeconds() != 9, "no version: no match");

        XdsCache cache = new XdsCache();
        XdsCache.Generated v124 = cache.get(TypeUrls.CLUSTER, sidecar("10.0.0.5", "reviews", "1.24.1"), s);
        XdsCache.Generated none = cache.get(TypeUrls.CLUSTER, reviews(), s);
        assertFalse(v124.version().equals(none.version()), "two proxy shapes, two cache entries");
    }

    @Test
    void aPatchWhoseValueDoesNotApplyIsSkippedAndTheOthersApply() throws Exception {
        List<Config<?>> configs = new ArrayList<>(ConfigParser.parse(Path.of("mesh.yaml"), MESH).configs());
        // Not through validation (an older jmesh accepted it, say): the value is not a Cluster.
        EnvoyFilter ef = new EnvoyFilter(null, null, List.of(
                new EnvoyFilter.EnvoyConfigObjectPatch("CLUSTER", null,
                        new EnvoyFilter.Patch("MERGE", Map.of("connect_timeout", "soon"), null)),
                new EnvoyFilter.EnvoyConfigObjectPatch("CLUSTER", null,
                        new EnvoyFilter.Patch("MERGE", Map.of("connect_timeout", "3s"), null))), null);
        configs.add(new Config<>(new ConfigMeta(ConfigKind.ENVOY_FILTER, "networking.istio.io/v1alpha3", "f", "shop",
                Map.of(), Map.of(), null), ef));
        Cluster c = cluster(reviews(), snapshot(configs), "outbound|9080||reviews.shop.svc.cluster.local");
        assertEquals(3, c.getConnectTimeout().getSeconds());
    }

    @Test
    void istiosGlobalRateLimitPatchesApplyToTheGateway() throws Exception {
        MeshSnapshot s = snapshot("""
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: ingress, namespace: istio-system}
                spec:
                  selector: {istio: ingressgateway}
                  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: reviews-gw, namespace: shop}
                spec:
                  hosts: ["*"]
                  gateways: [istio-system/ingress]
                  http: [{route: [{destination: {host: reviews.shop.svc.cluster.local, port: {number: 9080}}}]}]
                ---
                apiVersion: networking.istio.io/v1alpha3
                kind: EnvoyFilter
                metadata: {name: filter-ratelimit, namespace: istio-system}
                spec:
                  workloadSelector: {labels: {istio: ingressgateway}}
                  configPatches:
                  - applyTo: HTTP_FILTER
                    match:
                      context: GATEWAY
                      listener: { filterChain: { filter: { name: envoy.filters.network.http_connection_manager, subFilter: { name: envoy.filters.http.router } } } }
                    patch:
                      operation: INSERT_BEFORE
                      value:
                        name: envoy.filters.http.ratelimit
                        typed_config:
                          "@type": type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit
                          domain: ratelimit
                          failure_mode_deny: true
                          timeout: 10s
                          rate_limit_service:
                            grpc_service: { envoy_grpc: { cluster_name: outbound|8081||ratelimit.default.svc.cluster.local } }
                            transport_api_version: V3
                  - applyTo: VIRTUAL_HOST
                    match: { context: GATEWAY, routeConfiguration: { vhost: { name: "", route: { action: ANY } } } }
                    patch:
                      operation: MERGE
                      value:
                        rate_limits:
                        - actions:
                          - request_headers: { header_name: ":path", descriptor_key: PATH }
                """);
        ProxyNode gateway = ProxyNode.of(Node.newBuilder()
                .setId("router~10.1.0.100~ingress-1.istio-system~istio-system.svc.cluster.local")
                .setMetadata(Struct.newBuilder().putFields("LABELS", Value.newBuilder().setStructValue(Struct.newBuilder()
                        .putFields("istio", Value.newBuilder().setStringValue("ingressgateway").build())).build()))
                .build());
        Listener l = (Listener) XdsGenerator.generate(TypeUrls.LISTENER, gateway, s).get("0.0.0.0_80");
        List<String> filters = hcm(l.getFilterChains(0)).getHttpFiltersList().stream().map(HttpFilter::getName).toList();
        assertEquals(List.of("envoy.filters.http.ratelimit", "envoy.filters.http.router"),
                filters.subList(filters.size() - 2, filters.size()));
        RouteConfiguration rc = (RouteConfiguration) XdsGenerator.generate(TypeUrls.ROUTE, gateway, s).get("http.80");
        for (VirtualHost vh : rc.getVirtualHostsList()) {
            assertEquals(":path", vh.getRateLimits(0).getActions(0).getRequestHeaders().getHeaderName(), vh.getName());
        }
        // A sidecar is another context.
        assertFalse(inboundHttpFilters(reviews(), s).contains("envoy.filters.http.ratelimit"));
    }
}
