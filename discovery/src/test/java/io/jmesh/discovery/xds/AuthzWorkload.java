package io.jmesh.discovery.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.proxy.network.rpc.RpcProxyConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A sidecar workload for authorization tests: {@code httpbin} in namespace {@code foo} (IP 10.0.0.5, labels
 * {@code app=httpbin, version=v1}) serving HTTP on 8000, TCP on 9000 and Dubbo on 20880, and the
 * {@code ext-authz} service in {@code foo} (HTTP 8000, gRPC 9000) that CUSTOM policies may name. Policies and a
 * MeshConfig are given per test; the filters of each inbound chain are read back from the generated LDS.
 */
final class AuthzWorkload {

    static final String SERVICES = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: httpbin, namespace: foo}
            spec:
              hosts: [httpbin.foo.svc.cluster.local]
              location: MESH_INTERNAL
              resolution: STATIC
              ports:
              - {number: 8000, name: http, protocol: HTTP}
              - {number: 9000, name: tcp, protocol: TCP}
              - {number: 20880, name: dubbo, protocol: DUBBO}
              endpoints: [{address: 10.0.0.5, labels: {app: httpbin, version: v1}}]
            ---
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: ext-authz, namespace: foo}
            spec:
              hosts: [ext-authz.foo.svc.cluster.local]
              location: MESH_INTERNAL
              resolution: STATIC
              ports:
              - {number: 8000, name: http, protocol: HTTP}
              - {number: 9000, name: grpc, protocol: GRPC}
              endpoints: [{address: 10.0.0.99}]
            ---
            """;

    static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonFormat.Printer PRINTER = JsonFormat.printer().usingTypeRegistry(XdsGenerator.TYPE_REGISTRY);

    private final Listener inbound;

    private AuthzWorkload(Listener inbound) {
        this.inbound = inbound;
    }

    /** The workload with {@code policies} (Istio YAML, documents) and the default MeshConfig. */
    static AuthzWorkload of(String policies) {
        return of(policies, MeshConfig.DEFAULT);
    }

    static AuthzWorkload of(String policies, MeshConfig mesh) {
        return of(policies, mesh, "foo", Map.of("app", "httpbin", "version", "v1"));
    }

    static AuthzWorkload of(String policies, MeshConfig mesh, String namespace, Map<String, String> labels) {
        MeshSnapshot snapshot = TestSnapshots.of(1, ConfigParser.parse(null, SERVICES + policies), mesh);
        Struct.Builder l = Struct.newBuilder();
        labels.forEach((k, v) -> l.putFields(k, Value.newBuilder().setStringValue(v).build()));
        Node node = Node.newBuilder().setId("sidecar~10.0.0.5~httpbin-1." + namespace + "~" + namespace
                        + ".svc.cluster.local")
                .setMetadata(Struct.newBuilder().putFields("LABELS", Value.newBuilder().setStructValue(l).build()))
                .build();
        try {
            Listener inbound = (Listener) XdsGenerator.generate(TypeUrls.LISTENER, ProxyNode.of(node), snapshot)
                    .get("virtualInbound");
            assertNotNull(inbound);
            return new AuthzWorkload(inbound);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private FilterChain chain(int port) {
        for (FilterChain fc : inbound.getFilterChainsList()) {
            if (fc.getFilterChainMatch().getDestinationPort().getValue() == port) {
                return fc;
            }
        }
        throw new AssertionError("no inbound chain for port " + port);
    }

    /** The HTTP filters of the HTTP chain (8000) before fault, CORS and router, as proto JSON. */
    ArrayNode httpFilters() {
        FilterChain fc = chain(8000);
        Filter hcmFilter = fc.getFilters(fc.getFiltersCount() - 1);
        try {
            HttpConnectionManager hcm = hcmFilter.getTypedConfig().unpack(HttpConnectionManager.class);
            ArrayNode out = JSON.createArrayNode();
            for (HttpFilter f : hcm.getHttpFiltersList()) {
                if (f.getName().startsWith("envoy.filters.http.fault") || f.getName().equals("envoy.filters.http.cors")
                        || f.getName().equals("envoy.filters.http.router") || isTelemetry(f.getName())) {
                    continue;
                }
                out.add(json(f));
            }
            return out;
        } catch (InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
    }

    /** The network filters of the chain on {@code port} before its terminal filter, as proto JSON. */
    ArrayNode networkFilters(int port) {
        FilterChain fc = chain(port);
        ArrayNode out = JSON.createArrayNode();
        for (int i = 0; i < fc.getFiltersCount() - 1; i++) {
            if (!isTelemetry(fc.getFilters(i).getName())) {
                out.add(json(fc.getFilters(i)));
            }
        }
        return out;
    }

    /**
     * Istio's stats filters (telemetry.istio.io) sit after the policy filters, its TCP metadata exchange (peer labels
     * for the stats) before them; these tests look at policy only.
     */
    private static boolean isTelemetry(String filterName) {
        return filterName.equals("istio.stats") || filterName.equals("istio.metadata_exchange");
    }

    /** The filters of the rpc_proxy on the Dubbo chain (20880), as JSON (absent: empty). */
    ArrayNode rpcFilters() {
        FilterChain fc = chain(20880);
        Filter rpc = fc.getFilters(fc.getFiltersCount() - 1);
        assertEquals(RpcProxyConfig.FILTER_NAME, rpc.getName());
        JsonNode value = json(rpc).path("typedConfig").path("value");
        JsonNode filters = value.path("filters");
        ArrayNode out = JSON.createArrayNode();
        if (filters.isArray()) {
            for (JsonNode f : filters) {
                if (!isTelemetry(f.path("name").asText()) && !f.path("name").asText().equals("envoy.filters.generic.router")) {
                    // The rpc_proxy prints its filters with proto field names; read them back into the proto and
                    // print them as the other helpers here do.
                    try {
                        io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig.Builder b =
                                io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig.newBuilder();
                        com.google.protobuf.util.JsonFormat.parser().usingTypeRegistry(XdsGenerator.TYPE_REGISTRY)
                                .merge(f.toString(), b);
                        out.add(json(b.build()));
                    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                        throw new AssertionError(e);
                    }
                }
            }
        }
        return out;
    }

    /** The TCP chain's full filter list names, terminal included. */
    List<String> networkFilterNames(int port) {
        List<String> out = new ArrayList<>();
        for (Filter f : chain(port).getFiltersList()) {
            if (!isTelemetry(f.getName())) {
                out.add(f.getName());
            }
        }
        return out;
    }

    static JsonNode json(Message m) {
        try {
            return JSON.readTree(PRINTER.print(m));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static JsonNode parse(String json) {
        try {
            return JSON.readTree(json);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static Any any(Message m) {
        return Any.pack(m);
    }
}
