package io.jmesh.discovery.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.MetadataUtils;
import io.jmesh.api.ca.v1.IstioCertificateRequest;
import io.jmesh.api.ca.v1.IstioCertificateResponse;
import io.jmesh.api.ca.v1.IstioCertificateServiceGrpc;
import io.jmesh.discovery.CaOptions;
import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.xds.AdsBootstrap;
import io.jmesh.proxy.xds.ListenerBinding;
import io.jmesh.security.ca.CaRoots;
import io.jmesh.security.ca.Pem;
import io.jmesh.security.ca.server.TokenAuthenticator;

/**
 * Discovery's TLS port (istiod's 15012): a real {@link ProxyServer} follows discovery over TLS verified against
 * the mesh root and serves traffic; a proxy trusting another root gets no config; the CA answers there (and on
 * the plaintext port only when asked). Real sockets on port 0 of 127.0.0.1, real gRPC, real TLS.
 */
class SecureDiscoveryTest {

    static final String NODE = "sidecar~10.0.0.1~client.default~default.svc.cluster.local";
    static final String TOKEN = "client-token-0123456789abcdef";

    @TempDir
    Path dir;
    final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    DiscoveryServer discovery(boolean caOnPlaintext) throws Exception {
        Path config = dir.resolve("config");
        Files.createDirectories(config);
        Files.writeString(dir.resolve("tokens.yaml"), "tokens:\n- token: " + TOKEN
                + "\n  namespace: default\n  serviceAccount: client\n");
        CaOptions ca = new CaOptions(new InetSocketAddress("127.0.0.1", 0), dir.resolve("ca"),
                dir.resolve("tokens.yaml"), caOnPlaintext, null, null);
        DiscoveryServer d = DiscoveryServer.start(new DiscoveryOptions(config, new InetSocketAddress("127.0.0.1", 0),
                new InetSocketAddress("127.0.0.1", 0), null, Duration.ofMillis(20)).withCa(ca));
        closing.add(d);
        return d;
    }

    ProxyServer proxy(DiscoveryServer d, Path root) throws Exception {
        ProxyServer p = ProxyServer.start(AdsBootstrap.forDiscovery("127.0.0.1", d.secureGrpcAddress().getPort(), NODE,
                Map.of(), Map.of("app", "client"), 0, root), 1, new ListenerBinding("127.0.0.1", Map.of(9080, 0)));
        closing.add(p::close);
        return p;
    }

    void serviceEntry(int port) throws Exception {
        Path tmp = dir.resolve("config/.se.tmp");
        Files.writeString(tmp, """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: backend, namespace: default}
                spec:
                  hosts: [backend.default.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 9080, name: http, protocol: HTTP}]
                  endpoints: [{address: 127.0.0.1, ports: {http: %d}}]
                """.formatted(port));
        Files.move(tmp, dir.resolve("config/se.yaml"), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    IstioCertificateServiceGrpc.IstioCertificateServiceBlockingStub caStub(int port, ChannelCredentials creds) {
        ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1", port, creds).build();
        closing.add(ch::shutdownNow);
        Metadata md = new Metadata();
        md.put(TokenAuthenticator.AUTHORIZATION, "Bearer " + TOKEN);
        return IstioCertificateServiceGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
    }

    static ChannelCredentials trusting(Path rootFile) throws Exception {
        return TlsChannelCredentials.newBuilder().trustManager(rootFile.toFile()).build();
    }

    static IstioCertificateRequest csr() throws Exception {
        return csr(CaRoots.newEcKeyPair());
    }

    static IstioCertificateRequest csr(KeyPair kp) throws Exception {
        var req = new JcaPKCS10CertificationRequestBuilder(new X500Name("O=cluster.local"), kp.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate()));
        StringWriter w = new StringWriter();
        try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
            pw.writeObject(req);
        }
        return IstioCertificateRequest.newBuilder().setCsr(w.toString()).build();
    }

    @Test
    void proxyFollowsDiscoveryOverTlsVerifiedAgainstTheMeshRoot() throws Exception {
        TestBackend backend = TestBackend.start("backend");
        closing.add(backend);
        DiscoveryServer d = discovery(false);
        serviceEntry(backend.port());
        ProxyServer p = proxy(d, dir.resolve("ca/root-cert.pem"));
        assertTrue(AdsBootstrap.adsTransport(AdsBootstrap.forDiscovery("127.0.0.1", 1, NODE, Map.of(), Map.of(), 0,
                dir.resolve("ca/root-cert.pem"))).tls());
        Poll.until(() -> p.listenerAddresses().containsKey("0.0.0.0_9080"), "the outbound listener over TLS xDS");
        int port = p.listenerAddresses().get("0.0.0.0_9080").getPort();
        Curl.Result r = null;
        for (int i = 0; i < 300 && (r == null || r.status != 200); i++) { // up to 30 s on a loaded machine
            r = Curl.run("-H", "Host: backend.default.svc.cluster.local:9080", "http://127.0.0.1:" + port + "/hi");
            if (r.status != 200) {
                Thread.sleep(100);
            }
        }
        assertEquals(200, r.status, String.valueOf(r));
        assertNull(p.adsClient().lastError());
    }

    @Test
    void proxyTrustingAnotherRootGetsNoConfig() throws Exception {
        DiscoveryServer d = discovery(false);
        serviceEntry(9);
        Path otherRoot = dir.resolve("other-root.pem");
        Files.writeString(otherRoot, Pem.encode(CaRoots.selfSigned("cluster.local", Duration.ofDays(1),
                Clock.systemUTC()).root()));
        ProxyServer p = proxy(d, otherRoot);
        Poll.until(() -> p.adsClient().lastError() != null, "the ADS stream to fail");
        String error = p.adsClient().lastError();
        assertTrue(error.startsWith("UNAVAILABLE: TLS handshake failed: "), error);
        assertTrue(error.contains("trust anchors") || error.contains("certification path"), error);
        assertFalse(p.listenerAddresses().containsKey("0.0.0.0_9080"));
        assertFalse(p.adsClient().connected());
    }

    @Test
    void caOnTheSecurePortOnlyUnlessAsked() throws Exception {
        DiscoveryServer d = discovery(false);
        Path root = dir.resolve("ca/root-cert.pem");
        IstioCertificateResponse r = caStub(d.secureGrpcAddress().getPort(), trusting(root)).createCertificate(csr());
        X509Certificate leaf = Pem.certificates(r.getCertChain(0)).get(0);
        assertEquals(List.of(List.of(6, "spiffe://cluster.local/ns/default/sa/client")),
                List.copyOf(leaf.getSubjectAlternativeNames()));
        assertEquals(Files.readString(root), r.getCertChain(r.getCertChainCount() - 1));

        var e = assertThrows(StatusRuntimeException.class, () -> caStub(d.grpcAddress().getPort(),
                InsecureChannelCredentials.create()).createCertificate(csr()));
        assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode());
    }

    @Test
    void caOnPlaintextWhenAsked() throws Exception {
        DiscoveryServer d = discovery(true);
        IstioCertificateResponse r = caStub(d.grpcAddress().getPort(), InsecureChannelCredentials.create())
                .createCertificate(csr());
        assertEquals(2, r.getCertChainCount());
    }

    @Test
    void rootKeptAcrossRestart() throws Exception {
        DiscoveryServer first = discovery(false);
        X509Certificate root = first.certificateAuthority().roots().root();
        Path rootFile = dir.resolve("root-before.pem");
        Files.copy(dir.resolve("ca/root-cert.pem"), rootFile);
        first.close();
        closing.remove(first);
        DiscoveryServer second = discovery(false);
        assertEquals(root, second.certificateAuthority().roots().root());
        // The restarted discovery's serving certificate verifies against the root saved before.
        IstioCertificateResponse r = caStub(second.secureGrpcAddress().getPort(), trusting(rootFile))
                .createCertificate(csr());
        Pem.certificates(r.getCertChain(0)).get(0).verify(root.getPublicKey());
    }

    @Test
    void rootTransitionWithoutAFailedConnection() throws Exception {
        DiscoveryServer d = discovery(false);
        serviceEntry(9);
        Path ca = dir.resolve("ca");
        CaRoots oldRoots = d.certificateAuthority().roots();
        Path proxyRoots = dir.resolve("proxy-roots.pem");
        Files.copy(ca.resolve("root-cert.pem"), proxyRoots);
        ProxyServer before = proxy(d, proxyRoots);
        Poll.until(() -> before.listenerAddresses().containsKey("0.0.0.0_9080"), "LDS before the transition");
        // A workload certificate of the old root, used below to renew after the switch.
        KeyPair workloadKey = CaRoots.newEcKeyPair();
        IstioCertificateRequest req = csr(workloadKey);
        IstioCertificateResponse oldCert = caStub(d.secureGrpcAddress().getPort(), trusting(proxyRoots))
                .createCertificate(req);

        // Step 1: the new root joins the bundle; the old root still signs.
        CaRoots next = CaRoots.selfSigned("cluster.local", Duration.ofDays(3650), Clock.systemUTC());
        write(ca.resolve("root-cert.pem"), Pem.encode(List.of(oldRoots.root(), next.root())));
        write(proxyRoots, Pem.encode(List.of(oldRoots.root(), next.root())));
        Poll.until(() -> d.certificateAuthority().roots().trustBundle().size() == 2, "the bundle with two roots");
        assertEquals(oldRoots.root(), d.certificateAuthority().roots().root());

        // Step 3: switch signing to the new root; both stay trusted.
        write(ca.resolve("ca-key.pem"), Pem.encode(next.signingKey()));
        write(ca.resolve("ca-cert.pem"), Pem.encode(next.root()));
        write(ca.resolve("root-cert.pem"), Pem.encode(List.of(next.root(), oldRoots.root())));
        Poll.until(() -> next.root().equals(d.certificateAuthority().roots().root()), "signing with the new root");

        // A proxy trusting the bundle connects to discovery's new serving certificate ...
        ProxyServer after = proxy(d, proxyRoots);
        Poll.until(() -> after.listenerAddresses().containsKey("0.0.0.0_9080"), "LDS after the switch");
        // ... a workload holding a certificate of the old root renews with it, and gets both roots ...
        ChannelCredentials mtls = TlsChannelCredentials.newBuilder()
                .keyManager(stream(oldCert.getCertChain(0)), stream(Pem.encode(workloadKey.getPrivate())))
                .trustManager(proxyRoots.toFile()).build();
        ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1", d.secureGrpcAddress().getPort(), mtls)
                .build();
        closing.add(ch::shutdownNow);
        IstioCertificateResponse renewed = IstioCertificateServiceGrpc.newBlockingStub(ch)
                .withDeadlineAfter(20, TimeUnit.SECONDS).createCertificate(csr(CaRoots.newEcKeyPair()));
        Pem.certificates(renewed.getCertChain(0)).get(0).verify(next.root().getPublicKey());
        assertEquals(List.of(next.root(), oldRoots.root()),
                Pem.certificates(renewed.getCertChain(renewed.getCertChainCount() - 1)));
        // ... and the first proxy kept its config throughout.
        assertTrue(before.listenerAddresses().containsKey("0.0.0.0_9080"));
        // Whoever trusts only the old root cannot reach discovery any more: why step 1 comes first.
        Path oldOnly = dir.resolve("old-only.pem");
        Files.writeString(oldOnly, Pem.encode(oldRoots.root()));
        var e = assertThrows(StatusRuntimeException.class,
                () -> caStub(d.secureGrpcAddress().getPort(), trusting(oldOnly)).createCertificate(req));
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
    }

    static void write(Path file, String content) throws Exception {
        Path tmp = file.resolveSibling(file.getFileName() + ".new");
        Files.writeString(tmp, content);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    static ByteArrayInputStream stream(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.US_ASCII));
    }
}
