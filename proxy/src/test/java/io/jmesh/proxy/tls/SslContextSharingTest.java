package io.jmesh.proxy.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.TestCertificates;
import io.jmesh.proxy.telemetry.Stats;
import io.netty.handler.ssl.SslContext;

/**
 * Clusters with the same secrets share one {@code SslContext}: a thousand {@code ISTIO_MUTUAL}-shaped upstream TLS
 * contexts (SDS {@code default} and {@code ROOTCA}, Istio's ALPN, a SAN check, each its own SNI) build one, a
 * rotation of the certificate files switches all of them to one new context, and a different root or different
 * subject alt names make contexts of their own.
 */
class SslContextSharingTest {

    private static final String SAN = "spiffe://cluster.local/ns/default/sa/server";

    @TempDir
    Path dir;

    private TestCertificates ca;
    private TestCertificates otherCa;
    private DefaultSecretManager secrets;
    private final Stats stats = new Stats();
    private Path cert;
    private Path key;

    @BeforeAll
    static void fastPolling() {
        System.setProperty(DefaultSecretManager.POLL_PROPERTY, "50");
    }

    @BeforeEach
    void setUp() throws Exception {
        ca = TestCertificates.create(dir.resolve("ca"));
        otherCa = TestCertificates.create(dir.resolve("other-ca"));
        TestCertificates.Issued v1 = ca.issue("client-v1", "spiffe://cluster.local/ns/default/sa/client");
        cert = dir.resolve("cert-chain.pem");
        key = dir.resolve("key.pem");
        Files.copy(v1.certificateChain(), cert);
        Files.copy(v1.privateKey(), key);
        secrets = DefaultSecretManager.create(List.of(
                Secret.newBuilder().setName("default").setTlsCertificate(TlsCertificate.newBuilder()
                        .setCertificateChain(DataSource.newBuilder().setFilename(cert.toString()))
                        .setPrivateKey(DataSource.newBuilder().setFilename(key.toString()))).build(),
                root("ROOTCA", ca), root("OTHER_ROOTCA", otherCa)), null);
        secrets.contextCache().observe(stats);
    }

    @AfterEach
    void tearDown() {
        secrets.close();
    }

    private static Secret root(String name, TestCertificates ca) {
        return Secret.newBuilder().setName(name).setValidationContext(CertificateValidationContext.newBuilder()
                .setTrustedCa(DataSource.newBuilder().setFilename(ca.caCertificate().toString()))).build();
    }

    /** The UpstreamTlsContext discovery emits for an ISTIO_MUTUAL cluster, with {@code root} as trust bundle. */
    private static UpstreamTlsContext istioMutual(String sni, String root, String san) {
        return UpstreamTlsContext.newBuilder().setSni(sni).setCommonTlsContext(CommonTlsContext.newBuilder()
                .addAlpnProtocols("istio-peer-exchange").addAlpnProtocols("istio")
                .addTlsCertificateSdsSecretConfigs(SdsSecretConfig.newBuilder().setName("default"))
                .setCombinedValidationContext(CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                        .setDefaultValidationContext(CertificateValidationContext.newBuilder()
                                .addMatchTypedSubjectAltNames(SubjectAltNameMatcher.newBuilder()
                                        .setSanType(SubjectAltNameMatcher.SanType.URI)
                                        .setMatcher(StringMatcher.newBuilder().setExact(san))))
                        .setValidationContextSdsSecretConfig(SdsSecretConfig.newBuilder().setName(root))))
                .build();
    }

    private List<ClientTlsProvider> clusters(int n, String root, String san) throws Exception {
        List<ClientTlsProvider> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(ClientTlsProvider.create(istioMutual("outbound_.80_._.svc-" + i + ".default.svc.cluster.local",
                    root, san), false, secrets));
        }
        return out;
    }

    private static boolean allUse(List<ClientTlsProvider> clusters, SslContext context) {
        for (ClientTlsProvider c : clusters) {
            if (c.current() != context) {
                return false;
            }
        }
        return true;
    }

    @Test
    void aThousandIstioMutualClustersShareOneContextAndRotateTogether() throws Exception {
        List<ClientTlsProvider> clusters = clusters(1000, "ROOTCA", SAN);
        SslContext first = clusters.get(0).current();
        assertEquals(true, allUse(clusters, first), "every cluster uses the first cluster's context");
        assertEquals(1, secrets.contextCache().size());
        assertEquals(1, secrets.contextCache().builds());
        assertEquals(1L, stats.gaugeValues().get("server.ssl_contexts.active"));
        assertEquals(1L, stats.counterValues().get("server.ssl_contexts.built"));

        TestCertificates.Issued v2 = ca.issue("client-v2", "spiffe://cluster.local/ns/default/sa/client");
        Path tmpCert = dir.resolve("cert.tmp");
        Path tmpKey = dir.resolve("key.tmp");
        Files.copy(v2.certificateChain(), tmpCert);
        Files.copy(v2.privateKey(), tmpKey);
        Files.move(tmpKey, key, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Files.move(tmpCert, cert, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);

        Poll.until(() -> clusters.get(999).current() != first
                        && allUse(clusters, clusters.get(999).current())
                        && secrets.contextCache().size() == 1,
                "every cluster switched to one new context");
        SslContext rotated = clusters.get(0).current();
        assertNotSame(first, rotated);
        assertEquals(1L, stats.gaugeValues().get("server.ssl_contexts.active"), "the old context was released");
    }

    @Test
    void aDifferentRootOrDifferentSubjectAltNamesGetTheirOwnContext() throws Exception {
        List<ClientTlsProvider> mesh = clusters(10, "ROOTCA", SAN);
        List<ClientTlsProvider> otherRoot = clusters(10, "OTHER_ROOTCA", SAN);
        List<ClientTlsProvider> otherSan = clusters(10, "ROOTCA", "spiffe://cluster.local/ns/default/sa/other");
        assertEquals(3, secrets.contextCache().size());
        assertEquals(3, secrets.contextCache().builds());
        assertEquals(true, allUse(mesh, mesh.get(0).current()));
        assertEquals(true, allUse(otherRoot, otherRoot.get(0).current()));
        assertNotSame(mesh.get(0).current(), otherRoot.get(0).current());
        assertNotSame(mesh.get(0).current(), otherSan.get(0).current());
        assertSame(otherSan.get(0).current(), otherSan.get(9).current());
    }
}
