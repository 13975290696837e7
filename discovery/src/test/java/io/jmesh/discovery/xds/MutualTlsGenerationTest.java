package io.jmesh.discovery.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.model.MeshSnapshot;

/**
 * What PeerAuthentication and auto mTLS make of a sidecar's inbound chains and of its clients' clusters and
 * endpoints: precedence (workload > namespace > mesh, port level, UNSET inherits, oldest wins), the chains of
 * each mode, and Istio's {@code sds-grpc} secrets.
 */
class MutualTlsGenerationTest {

    /** reviews: two workload ports (9080 HTTP, 9090 TCP) at 10.1.0.21 with a sidecar, service account reviews. */
    private static final String SERVICES = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: reviews, namespace: default}
            spec:
              hosts: [reviews.default.svc.cluster.local]
              location: MESH_INTERNAL
              resolution: STATIC
              ports: [{number: 9080, name: http, protocol: HTTP}, {number: 9090, name: tcp, protocol: TCP}]
              workloadSelector: {labels: {app: reviews}}
            ---
            apiVersion: networking.istio.io/v1
            kind: WorkloadEntry
            metadata: {name: reviews-v1, namespace: default}
            spec:
              address: 10.1.0.21
              serviceAccount: reviews
              labels: {app: reviews, version: v1, security.istio.io/tlsMode: istio}
            ---
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: legacy, namespace: default}
            spec:
              hosts: [legacy.default.svc.cluster.local]
              location: MESH_INTERNAL
              resolution: STATIC
              ports: [{number: 80, name: http, protocol: HTTP}]
              endpoints: [{address: 10.1.0.99}]
            ---
            """;
    private static final String REVIEWS_NODE = "sidecar~10.1.0.21~reviews-v1-1.default~default.svc.cluster.local";
    private static final String CLIENT_NODE = "sidecar~10.1.0.10~productpage-1.default~default.svc.cluster.local";

    private static MeshSnapshot snapshot(String yaml, MeshConfig mesh) {
        return TestSnapshots.of(1, ConfigParser.parse(null, SERVICES + yaml), mesh);
    }

    private static MeshSnapshot snapshot(String yaml) {
        return snapshot(yaml, MeshConfig.DEFAULT);
    }

    private static ProxyNode node(String id, Map<String, String> labels) throws Exception {
        Struct.Builder l = Struct.newBuilder();
        labels.forEach((k, v) -> l.putFields(k, Value.newBuilder().setStringValue(v).build()));
        return ProxyNode.of(Node.newBuilder().setId(id).setMetadata(Struct.newBuilder()
                .putFields("LABELS", Value.newBuilder().setStructValue(l).build())).build());
    }

    private static Listener inbound(MeshSnapshot s) throws Exception {
        return (Listener) XdsGenerator.generate(TypeUrls.LISTENER,
                node(REVIEWS_NODE, Map.of("app", "reviews", "version", "v1")), s).get("virtualInbound");
    }

    /** The chains of workload port {@code port}: "name transport [alpn...] tls|plain". */
    private static List<String> chains(Listener l, int port) {
        List<String> out = new ArrayList<>();
        for (FilterChain fc : l.getFilterChainsList()) {
            if (fc.getFilterChainMatch().getDestinationPort().getValue() != port) {
                continue;
            }
            out.add(fc.getName() + ' ' + fc.getFilterChainMatch().getTransportProtocol() + ' '
                    + fc.getFilterChainMatch().getApplicationProtocolsList() + ' '
                    + (fc.hasTransportSocket() ? "mtls" : "plain"));
        }
        return out;
    }

    private static final List<String> STRICT_9080 = List.of("inbound|9080|| tls [] mtls");
    private static final List<String> PERMISSIVE_9080 = List.of(
            "inbound|9080|| tls [istio-peer-exchange, istio, istio-http/1.0, istio-http/1.1, istio-h2] mtls",
            "inbound|9080||-plaintext raw_buffer [] plain",
            "inbound|9080||-tls tls [] plain");
    private static final List<String> DISABLE_9080 = List.of("inbound|9080||  [] plain");

    @Test
    void withoutPolicyPortsArePermissive() throws Exception {
        Listener l = inbound(snapshot(""));
        assertEquals(PERMISSIVE_9080, chains(l, 9080));
        assertEquals("envoy.filters.listener.tls_inspector", l.getListenerFilters(0).getName());
    }

    @Test
    void meshStrictNamespacePermissiveWorkloadDisableOnOnePort() throws Exception {
        String yaml = """
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: istio-system}
                spec: {mtls: {mode: STRICT}}
                """;
        assertEquals(STRICT_9080, chains(inbound(snapshot(yaml)), 9080), "mesh-wide STRICT");
        yaml += """
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: default}
                spec: {mtls: {mode: PERMISSIVE}}
                """;
        assertEquals(PERMISSIVE_9080, chains(inbound(snapshot(yaml)), 9080), "namespace PERMISSIVE over mesh");
        yaml += """
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: reviews, namespace: default}
                spec:
                  selector: {matchLabels: {app: reviews}}
                  mtls: {mode: STRICT}
                  portLevelMtls: {9080: {mode: DISABLE}, 9090: {mode: UNSET}}
                """;
        Listener l = inbound(snapshot(yaml));
        assertEquals(DISABLE_9080, chains(l, 9080), "workload port-level DISABLE");
        assertEquals(List.of("inbound|9090|| tls [] mtls"), chains(l, 9090), "UNSET port inherits workload STRICT");
    }

    @Test
    void unsetInheritsAndOtherNamespacesOrSelectorsDoNotApply() throws Exception {
        String yaml = """
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: istio-system}
                spec: {mtls: {mode: STRICT}}
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: default}
                spec: {mtls: {mode: UNSET}}
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: other-ns, namespace: other}
                spec: {mtls: {mode: DISABLE}}
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: ratings-only, namespace: default}
                spec: {selector: {matchLabels: {app: ratings}}, mtls: {mode: DISABLE}}
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: root-selector, namespace: istio-system}
                spec: {selector: {matchLabels: {app: reviews}}, mtls: {mode: DISABLE}}
                """;
        assertEquals(STRICT_9080, chains(inbound(snapshot(yaml)), 9080));
    }

    @Test
    void rootNamespaceComesFromMeshConfig() throws Exception {
        String yaml = """
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: mesh-root}
                spec: {mtls: {mode: STRICT}}
                """;
        assertEquals(PERMISSIVE_9080, chains(inbound(snapshot(yaml)), 9080), "mesh-root is an ordinary namespace");
        MeshConfig mesh = new MeshConfig(null, null, null, null, "mesh-root", null);
        assertEquals(STRICT_9080, chains(inbound(snapshot(yaml, mesh)), 9080));
    }

    @Test
    void oldestPolicyWinsOnTies() throws Exception {
        String yaml = """
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: a-newer, namespace: default, creationTimestamp: "2024-05-01T00:00:00Z"}
                spec: {selector: {matchLabels: {app: reviews}}, mtls: {mode: DISABLE}}
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: b-older, namespace: default, creationTimestamp: "2024-01-01T00:00:00Z"}
                spec: {selector: {matchLabels: {version: v1}}, mtls: {mode: STRICT}}
                """;
        assertEquals(STRICT_9080, chains(inbound(snapshot(yaml)), 9080), "the older one, though later by name");
        String noTimes = yaml.replace(", creationTimestamp: \"2024-05-01T00:00:00Z\"", "")
                .replace(", creationTimestamp: \"2024-01-01T00:00:00Z\"", "");
        assertEquals(DISABLE_9080, chains(inbound(snapshot(noTimes)), 9080), "without times: the first by name");
    }

    @Test
    void mtlsChainsTakeIstioSecretsFromSdsGrpcAndRequireAClientCertificate() throws Exception {
        Listener l = inbound(snapshot(""));
        DownstreamTlsContext tls = l.getFilterChains(0).getTransportSocket().getTypedConfig()
                .unpack(DownstreamTlsContext.class);
        assertTrue(tls.getRequireClientCertificate().getValue());
        // Istio's ALPNHttp on an HTTP chain: h2 first, so that a client sidecar offering istio-peer-exchange,
        // istio, h2 (a gRPC port) gets HTTP/2 (AuthorizationConformanceTest's gRPC cases).
        assertEquals(List.of("h2", "http/1.1"), tls.getCommonTlsContext().getAlpnProtocolsList());
        assertEquals(List.of("istio-peer-exchange", "h2", "http/1.1"), ListenerGenerator.inboundMtls("tcp")
                .getTypedConfig().unpack(DownstreamTlsContext.class).getCommonTlsContext().getAlpnProtocolsList(),
                "Istio's ALPNDownstreamWithMxc on TCP chains");
        var cert = tls.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0);
        assertEquals("default", cert.getName());
        assertEquals("sds-grpc", cert.getSdsConfig().getApiConfigSource().getGrpcServices(0).getEnvoyGrpc()
                .getClusterName());
        assertEquals("ROOTCA", tls.getCommonTlsContext().getCombinedValidationContext()
                .getValidationContextSdsSecretConfig().getName());
    }

    @Test
    void autoMtlsToSidecarEndpointsWithTheirIdentity() throws Exception {
        MeshSnapshot s = snapshot("");
        ProxyNode client = node(CLIENT_NODE, Map.of("app", "productpage"));
        Map<String, Message> clusters = XdsGenerator.generate(TypeUrls.CLUSTER, client, s);
        Cluster reviews = (Cluster) clusters.get("outbound|9080||reviews.default.svc.cluster.local");
        assertEquals(List.of("tlsMode-istio", "tlsMode-disabled"),
                reviews.getTransportSocketMatchesList().stream().map(Cluster.TransportSocketMatch::getName).toList());
        assertFalse(reviews.hasTransportSocket(), "the matches decide, per endpoint");
        assertEquals(Struct.getDefaultInstance(), reviews.getTransportSocketMatches(1).getMatch());
        assertEquals("envoy.transport_sockets.raw_buffer", reviews.getTransportSocketMatches(1).getTransportSocket()
                .getName());
        UpstreamTlsContext mtls = reviews.getTransportSocketMatches(0).getTransportSocket().getTypedConfig()
                .unpack(UpstreamTlsContext.class);
        assertEquals(List.of("istio-peer-exchange", "istio"), mtls.getCommonTlsContext().getAlpnProtocolsList());
        assertEquals("spiffe://cluster.local/ns/default/sa/reviews", mtls.getCommonTlsContext()
                .getCombinedValidationContext().getDefaultValidationContext().getMatchTypedSubjectAltNames(0)
                .getMatcher().getExact());
        assertEquals("outbound_.9080_._.reviews.default.svc.cluster.local", mtls.getSni());

        Cluster legacy = (Cluster) clusters.get("outbound|80||legacy.default.svc.cluster.local");
        ClusterLoadAssignment legacyEds = (ClusterLoadAssignment) XdsGenerator.generate(TypeUrls.ENDPOINT, client, s)
                .get("outbound|80||legacy.default.svc.cluster.local");
        assertFalse(legacyEds.getEndpoints(0).getLbEndpoints(0).hasMetadata(), "no sidecar: the plaintext match");
        assertFalse(legacy.hasTransportSocket());
        assertEquals(0, legacy.getTransportSocketMatchesCount(), "no sidecar endpoint at all: no matches needed");
        ClusterLoadAssignment eds = (ClusterLoadAssignment) XdsGenerator.generate(TypeUrls.ENDPOINT, client, s)
                .get("outbound|9080||reviews.default.svc.cluster.local");
        assertEquals("istio", eds.getEndpoints(0).getLbEndpoints(0).getMetadata()
                .getFilterMetadataOrThrow("envoy.transport_socket_match").getFieldsOrThrow("tlsMode").getStringValue());
    }

    @Test
    void autoMtlsHonoursTheDestinationsDisableAndMeshConfig() throws Exception {
        ProxyNode client = node(CLIENT_NODE, Map.of("app", "productpage"));
        MeshSnapshot disabled = snapshot("""
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: reviews, namespace: default}
                spec: {selector: {matchLabels: {app: reviews}}, mtls: {mode: DISABLE}}
                """);
        Cluster c = (Cluster) XdsGenerator.generate(TypeUrls.CLUSTER, client, disabled)
                .get("outbound|9080||reviews.default.svc.cluster.local");
        ClusterLoadAssignment eds = (ClusterLoadAssignment) XdsGenerator.generate(TypeUrls.ENDPOINT, client, disabled)
                .get("outbound|9080||reviews.default.svc.cluster.local");
        assertFalse(eds.getEndpoints(0).getLbEndpoints(0).hasMetadata(),
                "the destination accepts plaintext only: its endpoint takes the plaintext match");
        assertFalse(c.hasTransportSocket());

        MeshSnapshot off = snapshot("", new MeshConfig(null, null, null, null, null, false));
        Cluster c2 = (Cluster) XdsGenerator.generate(TypeUrls.CLUSTER, client, off)
                .get("outbound|9080||reviews.default.svc.cluster.local");
        assertEquals(0, c2.getTransportSocketMatchesCount(), "enableAutoMtls: false");
        assertFalse(c2.hasTransportSocket());
    }

    @Test
    void destinationRuleTlsWinsOverAutoMtls() throws Exception {
        ProxyNode client = node(CLIENT_NODE, Map.of("app", "productpage"));
        MeshSnapshot s = snapshot("""
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: default}
                spec:
                  host: reviews
                  trafficPolicy:
                    tls: {mode: DISABLE}
                    portLevelSettings:
                    - port: {number: 9090}
                      tls: {mode: MUTUAL, credentialName: reviews-client, sni: reviews.example.com}
                """);
        Map<String, Message> clusters = XdsGenerator.generate(TypeUrls.CLUSTER, client, s);
        Cluster http = (Cluster) clusters.get("outbound|9080||reviews.default.svc.cluster.local");
        assertFalse(http.hasTransportSocket());
        assertEquals(0, http.getTransportSocketMatchesCount());
        Cluster tcp = (Cluster) clusters.get("outbound|9090||reviews.default.svc.cluster.local");
        UpstreamTlsContext tls = tcp.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
        assertEquals("kubernetes://reviews-client", tls.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0)
                .getName());
        assertTrue(tls.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getSdsConfig().hasAds());
        assertEquals("kubernetes://reviews-client-cacert", tls.getCommonTlsContext().getCombinedValidationContext()
                .getValidationContextSdsSecretConfig().getName());
        assertEquals("reviews.example.com", tls.getSni());
    }
}
