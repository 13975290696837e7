package io.jmesh.security.ca.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.MetadataUtils;
import io.jmesh.api.ca.v1.IstioCertificateRequest;
import io.jmesh.api.ca.v1.IstioCertificateResponse;
import io.jmesh.api.ca.v1.IstioCertificateServiceGrpc;
import io.jmesh.security.ca.CaRoots;
import io.jmesh.security.ca.CertificateAuthority;
import io.jmesh.security.ca.Pem;
import io.jmesh.security.testing.TestPki;

/** The CA service over real gRPC and real TLS on a port 0 of 127.0.0.1, as a node agent calls it. */
class IstioCertificateServiceTest {

    static final String REVIEWS_TOKEN = "reviews-token-0123456789abcdef";
    static final String RATINGS_TOKEN = "ratings-token-0123456789abcdef";
    static final String REVIEWS = "spiffe://cluster.local/ns/default/sa/reviews";

    @TempDir
    Path dir;
    CertificateAuthority ca;
    Server server;
    Path tokens;
    final List<ManagedChannel> channels = new java.util.ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        ca = new CertificateAuthority(CaRoots.loadOrCreate(dir.resolve("ca"), "cluster.local", Clock.systemUTC()));
        tokens = dir.resolve("tokens.yaml");
        Files.writeString(tokens, """
                tokens:
                - token: %s
                  namespace: default
                  serviceAccount: reviews
                """.formatted(REVIEWS_TOKEN));
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0),
                        CaTls.serverCredentials(ca, List.of(CaTls.ISTIOD_SAN, "localhost"), List.of("127.0.0.1")))
                .addService(new IstioCertificateService(ca, List.of(new ClientCertAuthenticator(),
                        new TokenAuthenticator(tokens, "cluster.local"))))
                .build().start();
    }

    @AfterEach
    void stop() throws Exception {
        channels.forEach(ManagedChannel::shutdownNow);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    IstioCertificateServiceGrpc.IstioCertificateServiceBlockingStub stub(ChannelCredentials creds, String token) {
        ManagedChannel ch = Grpc.newChannelBuilderForAddress("127.0.0.1",
                ((InetSocketAddress) server.getListenSockets().get(0)).getPort(), creds).build();
        channels.add(ch);
        var stub = IstioCertificateServiceGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS);
        if (token != null) {
            Metadata md = new Metadata();
            md.put(TokenAuthenticator.AUTHORIZATION, "Bearer " + token);
            stub = stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
        }
        return stub;
    }

    ChannelCredentials trustingMeshRoot() throws Exception {
        return TlsChannelCredentials.newBuilder().trustManager(stream(ca.roots().trustBundlePem())).build();
    }

    static ByteArrayInputStream stream(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.US_ASCII));
    }

    static IstioCertificateRequest request(String csr, long ttlSeconds) {
        return IstioCertificateRequest.newBuilder().setCsr(csr).setValidityDuration(ttlSeconds).build();
    }

    static List<List<?>> sans(X509Certificate c) throws Exception {
        return List.copyOf(c.getSubjectAlternativeNames());
    }

    @Test
    void issuedIdentityIsTheTokensServiceAccount() throws Exception {
        KeyPair kp = CaRoots.newEcKeyPair();
        IstioCertificateResponse r = stub(trustingMeshRoot(), REVIEWS_TOKEN)
                .createCertificate(request(TestPki.csr(kp, REVIEWS), 0));
        assertEquals(2, r.getCertChainCount());
        X509Certificate leaf = Pem.certificates(r.getCertChain(0)).get(0);
        assertEquals(List.of(List.of(6, REVIEWS)), sans(leaf));
        assertEquals(kp.getPublic(), leaf.getPublicKey());
        assertEquals(ca.roots().trustBundlePem(), r.getCertChain(1));
        leaf.verify(ca.roots().root().getPublicKey());
    }

    @Test
    void otherIdentityRefused() throws Exception {
        var e = assertThrows(StatusRuntimeException.class, () -> stub(trustingMeshRoot(), REVIEWS_TOKEN)
                .createCertificate(request(TestPki.csr(CaRoots.newEcKeyPair(),
                        "spiffe://cluster.local/ns/istio-system/sa/istiod"), 0)));
        assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
        assertEquals("csr: requests identity spiffe://cluster.local/ns/istio-system/sa/istiod but the caller is "
                + REVIEWS, e.getStatus().getDescription());
    }

    @Test
    void impersonationRefusedByName() throws Exception {
        var req = request(TestPki.csr(CaRoots.newEcKeyPair(), null), 0).toBuilder()
                .setMetadata(com.google.protobuf.Struct.newBuilder().putFields("ImpersonatedIdentity",
                        com.google.protobuf.Value.newBuilder().setStringValue(
                                "spiffe://cluster.local/ns/default/sa/ratings").build()))
                .build();
        var e = assertThrows(StatusRuntimeException.class,
                () -> stub(trustingMeshRoot(), REVIEWS_TOKEN).createCertificate(req));
        assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().startsWith("metadata.ImpersonatedIdentity: not supported"));
    }

    @Test
    void unauthenticatedCallersRefused() throws Exception {
        String csr = TestPki.csr(CaRoots.newEcKeyPair(), null);
        var none = assertThrows(StatusRuntimeException.class,
                () -> stub(trustingMeshRoot(), null).createCertificate(request(csr, 0)));
        assertEquals(Status.Code.UNAUTHENTICATED, none.getStatus().getCode());
        assertEquals("request authenticate failure: no credential (expected: authorization: Bearer <token>, or a "
                + "client certificate from this CA)", none.getStatus().getDescription());
        var unknown = assertThrows(StatusRuntimeException.class,
                () -> stub(trustingMeshRoot(), "not-a-known-token-xxxxxxxx").createCertificate(request(csr, 0)));
        assertEquals(Status.Code.UNAUTHENTICATED, unknown.getStatus().getCode());
        assertEquals("request authenticate failure: TokenAuthenticator: authorization: unknown bearer token "
                + "(expected: a token of " + tokens + ")", unknown.getStatus().getDescription());
    }

    @Test
    void badCsrAndTtlAreInvalidArguments() throws Exception {
        var stub = stub(trustingMeshRoot(), REVIEWS_TOKEN);
        var bad = assertThrows(StatusRuntimeException.class, () -> stub.createCertificate(request("hello", 0)));
        assertEquals(Status.Code.INVALID_ARGUMENT, bad.getStatus().getCode());
        assertEquals("csr: no PEM block (expected: a PEM CERTIFICATE REQUEST)", bad.getStatus().getDescription());
        var ttl = assertThrows(StatusRuntimeException.class, () -> stub.createCertificate(
                request(TestPki.csr(CaRoots.newEcKeyPair(), null), 91L * 24 * 3600)));
        assertEquals(Status.Code.INVALID_ARGUMENT, ttl.getStatus().getCode());
        assertEquals("validity_duration: 7862400s (expected: <= 7776000s, the max allowed TTL)",
                ttl.getStatus().getDescription());
    }

    @Test
    void renewalAuthenticatedByTheCurrentCertificate() throws Exception {
        KeyPair kp = CaRoots.newEcKeyPair();
        IstioCertificateResponse first = stub(trustingMeshRoot(), REVIEWS_TOKEN)
                .createCertificate(request(TestPki.csr(kp, REVIEWS), 3600));
        ChannelCredentials mtls = TlsChannelCredentials.newBuilder()
                .keyManager(stream(String.join("", first.getCertChainList().subList(0, first.getCertChainCount() - 1))),
                        stream(Pem.encode(kp.getPrivate())))
                .trustManager(stream(ca.roots().trustBundlePem())).build();
        KeyPair next = CaRoots.newEcKeyPair();
        IstioCertificateResponse renewed = stub(mtls, null).createCertificate(request(TestPki.csr(next, null), 0));
        X509Certificate leaf = Pem.certificates(renewed.getCertChain(0)).get(0);
        assertEquals(List.of(List.of(6, REVIEWS)), sans(leaf));
        assertEquals(next.getPublic(), leaf.getPublicKey());
        // The certificate's identity is the caller's: it cannot ask for another one.
        var e = assertThrows(StatusRuntimeException.class, () -> stub(mtls, null).createCertificate(request(
                TestPki.csr(CaRoots.newEcKeyPair(), "spiffe://cluster.local/ns/default/sa/ratings"), 0)));
        assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
    }

    @Test
    void tokenFileEditsApplyWithoutRestartAndBadEditsKeepTheTable() throws Exception {
        String csr = TestPki.csr(CaRoots.newEcKeyPair(), null);
        Files.writeString(tokens, """
                tokens:
                - token: %s
                  namespace: default
                  serviceAccount: reviews
                - token: %s
                  namespace: shop
                  serviceAccount: ratings
                """.formatted(REVIEWS_TOKEN, RATINGS_TOKEN));
        X509Certificate leaf = Pem.certificates(stub(trustingMeshRoot(), RATINGS_TOKEN)
                .createCertificate(request(csr, 0)).getCertChain(0)).get(0);
        assertEquals(List.of(List.of(6, "spiffe://cluster.local/ns/shop/sa/ratings")), sans(leaf));

        Files.writeString(tokens, "tokens:\n- token: short\n  namespace: default\n  serviceAccount: reviews\n");
        X509Certificate still = Pem.certificates(stub(trustingMeshRoot(), RATINGS_TOKEN)
                .createCertificate(request(csr, 0)).getCertChain(0)).get(0);
        assertEquals(List.of(List.of(6, "spiffe://cluster.local/ns/shop/sa/ratings")), sans(still));
    }

    @Test
    void badTokenFileRefusedAtStartNamingTheField() throws Exception {
        Path bad = dir.resolve("bad.yaml");
        Files.writeString(bad, "tokens:\n- token: " + REVIEWS_TOKEN + "\n  namespace: default\n");
        var e = assertThrows(io.jmesh.security.ca.CaConfigException.class,
                () -> new TokenAuthenticator(bad, "cluster.local"));
        assertEquals(bad + ": tokens[0].serviceAccount: missing (expected: a non-empty string)", e.getMessage());
    }

    @Test
    void clientTrustingAnotherRootCannotConnect() throws Exception {
        String otherRoot = Pem.encode(CaRoots.selfSigned("cluster.local", java.time.Duration.ofDays(1),
                Clock.systemUTC()).root());
        var e = assertThrows(StatusRuntimeException.class, () -> stub(
                TlsChannelCredentials.newBuilder().trustManager(stream(otherRoot)).build(), REVIEWS_TOKEN)
                .createCertificate(request(TestPki.csr(CaRoots.newEcKeyPair(), null), 0)));
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
    }
}
