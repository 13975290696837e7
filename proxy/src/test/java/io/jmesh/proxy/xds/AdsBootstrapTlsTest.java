package io.jmesh.proxy.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.protobuf.Any;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.testing.TestCertificates;

/** How the ADS client's transport follows the xds-grpc cluster's transport_socket, as Istio's bootstrap sets it. */
class AdsBootstrapTlsTest {

    static final String NODE = "sidecar~10.0.0.1~a.default~default.svc.cluster.local";

    @TempDir
    Path dir;

    @Test
    void plaintextWithoutTransportSocket() throws Exception {
        AdsBootstrap.AdsTransport t = AdsBootstrap.adsTransport(AdsBootstrap.forDiscovery("127.0.0.1", 15010, NODE,
                Map.of(), Map.of(), 0));
        assertFalse(t.tls());
        assertNull(t.authority());
    }

    @Test
    void xdsRootCaGivesIstiosTlsCluster() throws Exception {
        TestCertificates certs = TestCertificates.create(dir, TestCertificates.KeyType.EC);
        Bootstrap b = AdsBootstrap.forDiscovery("127.0.0.1", 15012, NODE, Map.of(), Map.of(), 0, dir.resolve("ca.pem"));
        UpstreamTlsContext tls = b.getStaticResources().getClusters(0).getTransportSocket().getTypedConfig()
                .unpack(UpstreamTlsContext.class);
        assertEquals("istiod.istio-system.svc", tls.getSni());
        assertEquals(dir.resolve("ca.pem").toString(),
                tls.getCommonTlsContext().getValidationContext().getTrustedCa().getFilename());
        assertEquals("istiod.istio-system.svc", tls.getCommonTlsContext().getValidationContext()
                .getMatchTypedSubjectAltNames(0).getMatcher().getExact());
        AdsBootstrap.AdsTransport t = AdsBootstrap.adsTransport(b);
        assertTrue(t.tls());
        assertEquals("istiod.istio-system.svc", t.authority());
        assertTrue(certs != null);
    }

    @Test
    void unusableTlsSettingsRefusedNamingTheField() throws Exception {
        Bootstrap noFile = AdsBootstrap.forDiscovery("127.0.0.1", 15012, NODE, Map.of(), Map.of(), 0,
                dir.resolve("missing.pem"));
        var missing = assertThrows(ConfigException.class, () -> AdsBootstrap.adsTransport(noFile));
        assertTrue(missing.getMessage().startsWith("static_resources.clusters[0].transport_socket.typed_config"
                + ".common_tls_context.validation_context.trusted_ca"), missing.getMessage());

        Bootstrap noCa = withTls(CommonTlsContext.newBuilder().addAlpnProtocols("h2").build());
        var unset = assertThrows(ConfigException.class, () -> AdsBootstrap.adsTransport(noCa));
        assertEquals("static_resources.clusters[0].transport_socket.typed_config.common_tls_context"
                + ".validation_context.trusted_ca: unset (expected: the mesh root that signed the control plane's "
                + "certificate)", unset.getMessage());

        Bootstrap sds = withTls(CommonTlsContext.newBuilder().setValidationContextSdsSecretConfig(
                SdsSecretConfig.newBuilder().setName("ROOTCA")).build());
        var fromSds = assertThrows(ConfigException.class, () -> AdsBootstrap.adsTransport(sds));
        assertTrue(fromSds.getMessage().endsWith("common_tls_context: validation context from SDS (expected: "
                + "validation_context with trusted_ca: the xDS connection is made before any SDS)"));
    }

    @Test
    void trustedCaFileReadAgainWhenItChanges() throws Exception {
        Path roots = dir.resolve("roots.pem");
        TestCertificates first = TestCertificates.create(dir.resolve("a"), TestCertificates.KeyType.EC);
        TestCertificates second = TestCertificates.create(dir.resolve("b"), TestCertificates.KeyType.EC);
        Files.copy(dir.resolve("a/ca.pem"), roots);
        TestCertificates.Issued leaf = second.issue("server", null, java.util.List.of("istiod.istio-system.svc"));
        AdsBootstrap.AdsTransport t = AdsBootstrap.adsTransport(AdsBootstrap.forDiscovery("127.0.0.1", 15012, NODE,
                Map.of(), Map.of(), 0, roots));
        javax.net.ssl.X509TrustManager tm = (javax.net.ssl.X509TrustManager)
                ((io.grpc.TlsChannelCredentials) t.credentials()).getTrustManagers().get(0);
        assertThrows(java.security.cert.CertificateException.class,
                () -> tm.checkServerTrusted(new java.security.cert.X509Certificate[] {leaf.certificate()}, "ECDHE_ECDSA"));
        Files.writeString(roots, Files.readString(dir.resolve("a/ca.pem")) + Files.readString(dir.resolve("b/ca.pem")));
        assertEquals(2, tm.getAcceptedIssuers().length);
        tm.checkServerTrusted(new java.security.cert.X509Certificate[] {leaf.certificate()}, "ECDHE_ECDSA");
        assertTrue(first != null);
    }

    private static Bootstrap withTls(CommonTlsContext common) {
        Bootstrap b = AdsBootstrap.forDiscovery("127.0.0.1", 15012, NODE, Map.of(), Map.of(), 0);
        var cluster = b.getStaticResources().getClusters(0).toBuilder()
                .setTransportSocket(io.envoyproxy.envoy.config.core.v3.TransportSocket.newBuilder()
                        .setName("envoy.transport_sockets.tls")
                        .setTypedConfig(Any.pack(UpstreamTlsContext.newBuilder().setCommonTlsContext(common).build())));
        return b.toBuilder().setStaticResources(b.getStaticResources().toBuilder().setClusters(0, cluster)).build();
    }
}
