package io.jmesh.discovery.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters;
import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.discovery.config.Credential;
import io.jmesh.discovery.config.CredentialsDirectory;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.model.MeshSnapshot;

/**
 * Credentials from the credentials directory as SDS secrets (only to proxies of their namespace), Gateway TLS
 * listeners and their validation, and what changes of credentials and sidecar labels push.
 */
class CredentialAndGatewayTlsTest {

    @TempDir
    Path dir;

    private static final String GATEWAY = """
            apiVersion: networking.istio.io/v1
            kind: Gateway
            metadata: {name: gw, namespace: default}
            spec:
              selector: {istio: ingressgateway}
              servers:
              - port: {number: 443, name: https, protocol: HTTPS}
                hosts: [bookinfo.example.com]
                tls:
                  mode: MUTUAL
                  credentialName: bookinfo-cred
                  subjectAltNames: [client.example.com]
                  minProtocolVersion: TLSV1_2
                  maxProtocolVersion: TLSV1_3
                  cipherSuites: [ECDHE-ECDSA-AES256-GCM-SHA384]
              - port: {number: 8443, name: mesh, protocol: HTTPS}
                hosts: [mesh.example.com]
                tls: {mode: ISTIO_MUTUAL}
              - port: {number: 80, name: http, protocol: HTTP}
                hosts: [bookinfo.example.com]
                tls: {httpsRedirect: true}
            """;

    private static MeshSnapshot snapshot(long version, String yaml, List<Credential> credentials) {
        return TestSnapshots.of(version, ConfigParser.parse(null, yaml), MeshConfig.DEFAULT, credentials);
    }

    private static ProxyNode node(String id, String... labels) throws Exception {
        Struct.Builder l = Struct.newBuilder();
        for (int i = 0; i < labels.length; i += 2) {
            l.putFields(labels[i], Value.newBuilder().setStringValue(labels[i + 1]).build());
        }
        return ProxyNode.of(Node.newBuilder().setId(id).setMetadata(Struct.newBuilder()
                .putFields("LABELS", Value.newBuilder().setStructValue(l).build())).build());
    }

    private static final String GATEWAY_NODE = "router~10.0.0.5~ingress-1.default~default.svc.cluster.local";

    @Test
    void credentialsDirectoryIsReadAsKubernetesSecretKeys() throws Exception {
        Path cred = Files.createDirectories(dir.resolve("default/bookinfo-cred"));
        Files.writeString(cred.resolve("tls.crt"), "CERT");
        Files.writeString(cred.resolve("tls.key"), "KEY");
        Files.writeString(cred.resolve("ca.crt"), "CA");
        Path generic = Files.createDirectories(dir.resolve("other/generic"));
        Files.writeString(generic.resolve("cert"), "CERT2");
        Files.writeString(generic.resolve("key"), "KEY2");
        Files.createDirectories(dir.resolve("default/empty"));
        assertEquals(List.of(new Credential("default", "bookinfo-cred", "CERT", "KEY", "CA"),
                new Credential("other", "generic", "CERT2", "KEY2", null)), CredentialsDirectory.load(dir));
        assertEquals(List.of(), CredentialsDirectory.load(dir.resolve("missing")));
    }

    @Test
    void secretsGoOnlyToProxiesOfTheCredentialsNamespace() throws Exception {
        List<Credential> creds = List.of(new Credential("default", "bookinfo-cred", "CERT", "KEY", "CA"),
                new Credential("default", "bookinfo-cred-cacert", null, null, "OTHER-CA"),
                new Credential("other", "secret", "C", "K", null));
        MeshSnapshot s = snapshot(1, GATEWAY, creds);
        Map<String, Message> secrets = XdsGenerator.generate(TypeUrls.SECRET, node(GATEWAY_NODE), s);
        assertEquals(Set.of("kubernetes://bookinfo-cred", "kubernetes://bookinfo-cred-cacert"), secrets.keySet());
        Secret cert = (Secret) secrets.get("kubernetes://bookinfo-cred");
        assertEquals("CERT", cert.getTlsCertificate().getCertificateChain().getInlineBytes().toStringUtf8());
        Secret ca = (Secret) secrets.get("kubernetes://bookinfo-cred-cacert");
        assertEquals("OTHER-CA", ca.getValidationContext().getTrustedCa().getInlineBytes().toStringUtf8(),
                "a separate <name>-cacert credential wins over ca.crt, as in Istio");
        assertEquals(Set.of(), XdsGenerator.generate(TypeUrls.SECRET,
                node("router~10.0.0.6~ingress-1.prod~prod.svc.cluster.local"), s).keySet());
    }

    @Test
    void gatewayServersTerminateTlsAsIstio() throws Exception {
        MeshSnapshot s = snapshot(1, GATEWAY, List.of());
        Map<String, Message> lds = XdsGenerator.generate(TypeUrls.LISTENER, node(GATEWAY_NODE, "istio", "ingressgateway"), s);
        FilterChain mutual = ((Listener) lds.get("0.0.0.0_443")).getFilterChains(0);
        assertEquals(List.of("bookinfo.example.com"), mutual.getFilterChainMatch().getServerNamesList());
        DownstreamTlsContext tls = mutual.getTransportSocket().getTypedConfig().unpack(DownstreamTlsContext.class);
        assertTrue(tls.getRequireClientCertificate().getValue());
        var common = tls.getCommonTlsContext();
        assertEquals("kubernetes://bookinfo-cred", common.getTlsCertificateSdsSecretConfigs(0).getName());
        assertTrue(common.getTlsCertificateSdsSecretConfigs(0).getSdsConfig().hasAds());
        assertEquals("kubernetes://bookinfo-cred-cacert",
                common.getCombinedValidationContext().getValidationContextSdsSecretConfig().getName());
        assertEquals("client.example.com", common.getCombinedValidationContext().getDefaultValidationContext()
                .getMatchTypedSubjectAltNames(0).getMatcher().getExact());
        assertEquals(TlsParameters.TlsProtocol.TLSv1_2, common.getTlsParams().getTlsMinimumProtocolVersion());
        assertEquals(TlsParameters.TlsProtocol.TLSv1_3, common.getTlsParams().getTlsMaximumProtocolVersion());
        assertEquals(List.of("ECDHE-ECDSA-AES256-GCM-SHA384"), common.getTlsParams().getCipherSuitesList());

        DownstreamTlsContext mesh = ((Listener) lds.get("0.0.0.0_8443")).getFilterChains(0).getTransportSocket()
                .getTypedConfig().unpack(DownstreamTlsContext.class);
        assertTrue(mesh.getRequireClientCertificate().getValue());
        assertEquals("default", mesh.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName());
        assertEquals("sds-grpc", mesh.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getSdsConfig()
                .getApiConfigSource().getGrpcServices(0).getEnvoyGrpc().getClusterName());

        RouteConfiguration http = (RouteConfiguration) XdsGenerator.generate(TypeUrls.ROUTE,
                node(GATEWAY_NODE, "istio", "ingressgateway"), s).get("http.80");
        var vh = http.getVirtualHosts(0);
        assertEquals(List.of("bookinfo.example.com", "bookinfo.example.com:80"), vh.getDomainsList());
        assertEquals(io.envoyproxy.envoy.config.route.v3.VirtualHost.TlsRequirementType.ALL, vh.getRequireTls());
        assertTrue(vh.getRoutes(0).getRedirect().getHttpsRedirect());
    }

    private static String gatewayError(String tls) {
        ConfigParser.Result r = ConfigParser.parse(null, """
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: gw, namespace: default}
                spec:
                  servers:
                  - port: {number: 443, name: https, protocol: HTTPS}
                    hosts: [a.example.com]
                    tls: %s
                """.formatted(tls));
        assertEquals(1, r.errors().size(), r.toString());
        return r.errors().get(0).reason();
    }

    @Test
    void gatewayTlsIsValidatedAsIstiod() {
        assertEquals("spec.servers[0].tls: mode SIMPLE without serverCertificate and privateKey (expected: both, or "
                + "credentialName)", gatewayError("{mode: SIMPLE}"));
        assertEquals("spec.servers[0].tls: mode ISTIO_MUTUAL with serverCertificate, privateKey, caCertificates or "
                + "credentialName (expected: none of them; the gateway's mesh certificate is used)",
                gatewayError("{mode: ISTIO_MUTUAL, credentialName: x}"));
        assertEquals("spec.servers[0].tls.minProtocolVersion: TLSv1.2 (expected: one of TLS_AUTO, TLSV1_0, TLSV1_1, "
                + "TLSV1_2, TLSV1_3)", gatewayError("{mode: SIMPLE, credentialName: x, minProtocolVersion: TLSv1.2}"));
        assertEquals("spec.servers[0].tls.minProtocolVersion: TLSV1_3 (expected: <= maxProtocolVersion TLSV1_2)",
                gatewayError("{mode: SIMPLE, credentialName: x, minProtocolVersion: TLSV1_3, maxProtocolVersion: TLSV1_2}"));
    }

    @Test
    void destinationRuleIstioMutualTakesNoCertificates() {
        ConfigParser.Result r = ConfigParser.parse(null, """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: dr, namespace: default}
                spec:
                  host: reviews
                  trafficPolicy: {tls: {mode: ISTIO_MUTUAL, credentialName: x}}
                """);
        assertEquals("spec.trafficPolicy.tls: mode ISTIO_MUTUAL with clientCertificate, privateKey, caCertificates "
                + "or credentialName (expected: none of them; the mesh certificate is used)", r.errors().get(0).reason());
    }

    private static final String WORKLOAD = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: reviews, namespace: default}
            spec:
              hosts: [reviews.default.svc.cluster.local]
              location: MESH_INTERNAL
              resolution: STATIC
              ports: [{number: 9080, name: http, protocol: HTTP}]
              endpoints: [{address: 10.0.0.1, labels: {%s}}]
            """;

    @Test
    void credentialChangesPushSecretsAndTheFirstSidecarPushesClusters() {
        MeshSnapshot a = snapshot(1, WORKLOAD.formatted("app: reviews"), List.of());
        MeshSnapshot b = snapshot(2, WORKLOAD.formatted("app: reviews"),
                List.of(new Credential("default", "c", "CERT", "KEY", null)));
        assertEquals(Set.of(TypeUrls.SECRET), XdsCache.Scope.between(a, b).types());
        MeshSnapshot c = snapshot(3, WORKLOAD.formatted("app: reviews, security.istio.io/tlsMode: istio"),
                b.credentials());
        assertEquals(Set.of(TypeUrls.CLUSTER, TypeUrls.ENDPOINT), XdsCache.Scope.between(b, c).types(),
                "the first sidecar endpoint gives its cluster the auto mTLS matches");
        MeshSnapshot d = snapshot(4, WORKLOAD.formatted("app: reviews2, security.istio.io/tlsMode: istio"),
                b.credentials());
        assertEquals(Set.of(TypeUrls.ENDPOINT), XdsCache.Scope.between(c, d).types(), "other labels: EDS only");
    }
}
