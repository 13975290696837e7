package io.jmesh.discovery.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.model.MeshSnapshot;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Sidecar {@code ingress} listeners as istiod turns them into a sidecar's inbound config: they replace the workload's
 * service ports; {@code defaultEndpoint} picks the inbound cluster's endpoint; captureMode NONE gives a listener of
 * its own on {@code bind}; {@code tls} terminates with the listener's files; validation as istiod's.
 */
class SidecarIngressTest {

    private static final String SIDECAR = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: reviews, namespace: shop}
            spec:
              hosts: [reviews.shop.svc.cluster.local]
              location: MESH_INTERNAL
              ports: [{number: 9080, name: http, protocol: HTTP}]
              resolution: STATIC
              endpoints: [{address: 10.1.0.7, ports: {http: 9080}}]
            ---
            apiVersion: networking.istio.io/v1
            kind: Sidecar
            metadata: {name: reviews, namespace: shop}
            spec:
              workloadSelector: {labels: {app: reviews}}
              ingress:
              - port: {number: 8080, protocol: HTTP, name: http}
                defaultEndpoint: 127.0.0.1:18080
              - port: {number: 8081, protocol: TCP, name: tcp}
                defaultEndpoint: 0.0.0.0:18081
              - port: {number: 8082, protocol: GRPC, name: grpc}
                defaultEndpoint: unix:///var/run/app.sock
              - port: {number: 8443, protocol: HTTP, name: https}
                bind: 10.1.0.7
                captureMode: NONE
                tls: {mode: SIMPLE, serverCertificate: /etc/certs/cert.pem, privateKey: /etc/certs/key.pem}
                connectionPool: {tcp: {maxConnections: 7}}
            ---
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: default, namespace: istio-system}
            spec: {mtls: {mode: STRICT}}
            """;

    static Map<String, Message> generate(String typeUrl, String yaml, Map<String, String> labels) throws Exception {
        MeshSnapshot snapshot = TestSnapshots.of(1, ConfigParser.parse(Path.of("mesh.yaml"), yaml), MeshConfig.DEFAULT);
        Struct.Builder l = Struct.newBuilder();
        labels.forEach((k, v) -> l.putFields(k, Value.newBuilder().setStringValue(v).build()));
        ProxyNode proxy = ProxyNode.of(Node.newBuilder()
                .setId("sidecar~10.1.0.7~reviews-1.shop~shop.svc.cluster.local")
                .setMetadata(Struct.newBuilder().putFields("LABELS", Value.newBuilder().setStructValue(l).build()))
                .build());
        return XdsGenerator.generate(typeUrl, proxy, snapshot);
    }

    private static String endpoint(Map<String, Message> clusters, int port) {
        Cluster c = (Cluster) clusters.get("inbound|" + port + "||");
        assertTrue(c != null, clusters.keySet().toString());
        Address a = c.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress();
        return a.hasPipe() ? "unix://" + a.getPipe().getPath()
                : a.getSocketAddress().getAddress() + ":" + a.getSocketAddress().getPortValue();
    }

    @Test
    void ingressListenersReplaceTheServicePortsAndDefaultEndpointsPickTheInboundEndpoint() throws Exception {
        Map<String, Message> clusters = generate(TypeUrls.CLUSTER, SIDECAR, Map.of("app", "reviews"));
        assertEquals("127.0.0.1:18080", endpoint(clusters, 8080));
        assertEquals("10.1.0.7:18081", endpoint(clusters, 8081), "0.0.0.0:PORT: the workload's IP");
        assertEquals("unix:///var/run/app.sock", endpoint(clusters, 8082));
        assertEquals("10.1.0.7:8443", endpoint(clusters, 8443), "no defaultEndpoint: the workload's IP and port");
        assertFalse(clusters.containsKey("inbound|9080||"), "the service port is replaced");
        assertEquals(7, ((Cluster) clusters.get("inbound|8443||")).getCircuitBreakers().getThresholds(0)
                .getMaxConnections().getValue());
        assertTrue(((Cluster) clusters.get("inbound|8082||")).getTypedExtensionProtocolOptionsMap()
                .containsKey("envoy.extensions.upstreams.http.v3.HttpProtocolOptions"), "gRPC: HTTP/2 upstream");

        Map<String, Message> noSidecar = generate(TypeUrls.CLUSTER, SIDECAR, Map.of("app", "other"));
        assertEquals("127.0.0.1:9080", endpoint(noSidecar, 9080), "without the Sidecar: the service port");
    }

    @Test
    void captureModeNoneBindsAListenerOfItsOwnAndTlsTerminatesWithTheListenersFiles() throws Exception {
        Map<String, Message> listeners = generate(TypeUrls.LISTENER, SIDECAR, Map.of("app", "reviews"));
        Listener inbound = (Listener) listeners.get("virtualInbound");
        List<Integer> ports = inbound.getFilterChainsList().stream()
                .filter(FilterChain::hasFilterChainMatch)
                .map(fc -> fc.getFilterChainMatch().getDestinationPort().getValue()).distinct().toList();
        assertEquals(List.of(8080, 8081, 8082), ports, "captured ports on virtualInbound, 8443 bound apart");

        Listener bound = (Listener) listeners.get("10.1.0.7_8443");
        assertTrue(bound != null, listeners.keySet().toString());
        assertEquals("10.1.0.7", bound.getAddress().getSocketAddress().getAddress());
        assertEquals(8443, bound.getAddress().getSocketAddress().getPortValue());
        assertFalse(bound.hasUseOriginalDst());
        assertEquals(1, bound.getFilterChainsCount(), "the listener's TLS replaces the mesh mTLS chains");
        String tls = bound.getFilterChains(0).getTransportSocket().getTypedConfig().toString();
        assertTrue(tls.contains("/etc/certs/cert.pem"), tls);
        assertEquals("envoy.filters.network.http_connection_manager",
                bound.getFilterChains(0).getFilters(bound.getFilterChains(0).getFiltersCount() - 1).getName());
    }

    private static String reason(String ingress) {
        ConfigParser.Result r = ConfigParser.parse(Path.of("t.yaml"), "apiVersion: networking.istio.io/v1\nkind: "
                + "Sidecar\nmetadata: {name: x, namespace: shop}\nspec:\n  ingress:\n" + ingress.indent(2));
        return r.errors().isEmpty() ? null : r.errors().get(0).reason();
    }

    @Test
    void ingressIsValidatedAsIstiodDoes() {
        assertEquals(null, reason("- {port: {number: 80, protocol: HTTP, name: http}, defaultEndpoint: '[::1]:80'}"));
        assertEquals("spec.ingress[0].port: missing (expected: a port; sidecar: port is required for ingress "
                + "listeners)", reason("- {defaultEndpoint: 127.0.0.1:80}"));
        assertEquals("spec.ingress[0].defaultEndpoint: 10.0.0.1:80 (expected: 127.0.0.1:PORT, [::1]:PORT, "
                + "0.0.0.0:PORT, [::]:PORT or unix:///path)",
                reason("- {port: {number: 80, protocol: HTTP, name: http}, defaultEndpoint: 10.0.0.1:80}"));
        assertEquals("spec.ingress[0].defaultEndpoint: unix://relative (expected: unix:///absolute/path or "
                + "unix://@abstract)",
                reason("- {port: {number: 80, protocol: HTTP, name: http}, defaultEndpoint: unix://relative}"));
        assertEquals("spec.ingress[0].bind: unix:///a (expected: an IP address)",
                reason("- {port: {number: 80, protocol: HTTP, name: http}, bind: unix:///a}"));
        assertEquals("spec.ingress[0].captureMode: TPROXY (expected: one of DEFAULT, IPTABLES, NONE)",
                reason("- {port: {number: 80, protocol: HTTP, name: http}, captureMode: TPROXY}"));
        assertEquals("spec.ingress[1].port.number: 80 (expected: a port unique among the ingress listeners; sidecar: "
                + "ports on IP bound listeners must be unique)",
                reason("- {port: {number: 80, protocol: HTTP, name: a}}\n- {port: {number: 80, protocol: TCP, name: b}}"));
        assertEquals("spec.ingress[0].tls.credentialName: c (expected: serverCertificate and privateKey files; "
                + "sidecar: credentialName is not currently supported)",
                reason("- {port: {number: 80, protocol: HTTP, name: a}, tls: {mode: SIMPLE, credentialName: c}}"));
        assertEquals("spec.ingress[0].tls.mode: ISTIO_MUTUAL (expected: SIMPLE or MUTUAL)",
                reason("- {port: {number: 80, protocol: HTTP, name: a}, tls: {mode: ISTIO_MUTUAL}}"));
        assertEquals("spec.ingress[0].portt: unknown field", reason("- {portt: {number: 80}}")
                .substring(0, "spec.ingress[0].portt: unknown field".length()), "no longer an untyped map");
    }
}
