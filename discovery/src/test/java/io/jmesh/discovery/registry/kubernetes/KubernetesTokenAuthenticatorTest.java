package io.jmesh.discovery.registry.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.InetAddress;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.grpc.Metadata;
import io.jmesh.security.ca.server.Authenticator.AuthenticationException;
import io.jmesh.security.ca.server.TokenAuthenticator;
import io.jmesh.security.spiffe.SpiffeId;

/**
 * The CA's Kubernetes service-account token authenticator against a FAKE API server: fabric8's
 * {@code KubernetesMockServer} in expectations mode (no real API server can run here), answering TokenReview
 * creations as the API server would for the tokens it knows, and only for the audience {@code istio-ca}.
 */
@Tag("kubernetes")
class KubernetesTokenAuthenticatorTest {

    private KubernetesMockServer server;
    private KubernetesClient client;
    private final List<String> reviewed = new java.util.concurrent.CopyOnWriteArrayList<>();

    @BeforeEach
    void start() {
        server = new KubernetesMockServer(false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        server.expect().post().withPath("/apis/authentication.k8s.io/v1/tokenreviews").andReply(201, req -> {
            TokenReview in = Serialization.unmarshal(req.getUtf8Body(), TokenReview.class);
            String token = in.getSpec().getToken();
            reviewed.add(token + " " + in.getSpec().getAudiences());
            boolean audienceOk = in.getSpec().getAudiences().contains("istio-ca");
            TokenReviewBuilder out = new TokenReviewBuilder(in);
            if (token.equals("reviews-jwt") && audienceOk) {
                out.withNewStatus().withAuthenticated(true).withAudiences("istio-ca").withNewUser()
                        .withUsername("system:serviceaccount:demo:reviews").endUser().endStatus();
            } else if (token.equals("user-jwt")) {
                out.withNewStatus().withAuthenticated(true).withAudiences("istio-ca").withNewUser()
                        .withUsername("alice@example.com").endUser().endStatus();
            } else {
                out.withNewStatus().withAuthenticated(false).withError("[invalid bearer token, token lookup failed]")
                        .endStatus();
            }
            return out.build();
        }).always();
        client = server.createClient();
    }

    @AfterEach
    void stop() {
        client.close();
        server.destroy();
    }

    private static Metadata bearer(String token) {
        Metadata m = new Metadata();
        m.put(TokenAuthenticator.AUTHORIZATION, "Bearer " + token);
        return m;
    }

    @Test
    void aServiceAccountTokenIsThatServiceAccount() throws Exception {
        var auth = new KubernetesTokenAuthenticator(client, "cluster.local");
        assertEquals(new SpiffeId("cluster.local", "demo", "reviews"), auth.authenticate(bearer("reviews-jwt"), null));
        assertEquals(List.of("reviews-jwt [istio-ca]"), reviewed, "reviewed once, for the audience istio-ca");
    }

    @Test
    void anInvalidTokenIsRefusedWithTheApiServersReason() {
        var auth = new KubernetesTokenAuthenticator(client, "cluster.local");
        AuthenticationException e = assertThrows(AuthenticationException.class,
                () -> auth.authenticate(bearer("forged"), null));
        assertEquals("TokenReview: [invalid bearer token, token lookup failed]", e.getMessage());
        AuthenticationException user = assertThrows(AuthenticationException.class,
                () -> auth.authenticate(bearer("user-jwt"), null));
        assertEquals("TokenReview: user alice@example.com (expected: system:serviceaccount:<namespace>:<name>)",
                user.getMessage());
    }

    @Test
    void theCaIssuesTheTokensIdentityOnly(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path config = java.nio.file.Files.createDirectories(dir.resolve("config"));
        io.jmesh.discovery.CaOptions ca = new io.jmesh.discovery.CaOptions(
                new java.net.InetSocketAddress("127.0.0.1", 0), dir.resolve("ca"), null, false, null, null);
        io.jmesh.discovery.DiscoveryServer d = io.jmesh.discovery.DiscoveryServer.start(
                new io.jmesh.discovery.DiscoveryOptions(config, new java.net.InetSocketAddress("127.0.0.1", 0),
                        new java.net.InetSocketAddress("127.0.0.1", 0), null, java.time.Duration.ofMillis(20))
                        .withCa(ca), List.of(), List.of(), List.of(td -> new KubernetesTokenAuthenticator(client, td)));
        io.grpc.ManagedChannel ch = io.grpc.Grpc.newChannelBuilderForAddress("127.0.0.1",
                d.secureGrpcAddress().getPort(), io.grpc.TlsChannelCredentials.newBuilder()
                        .trustManager(dir.resolve("ca/root-cert.pem").toFile()).build()).build();
        try {
            var reply = stub(ch, "reviews-jwt").createCertificate(csr());
            java.security.cert.X509Certificate leaf = io.jmesh.security.ca.Pem.certificates(reply.getCertChain(0)).get(0);
            assertEquals(List.of(List.of(6, "spiffe://cluster.local/ns/demo/sa/reviews")),
                    List.copyOf(leaf.getSubjectAlternativeNames()));
            io.grpc.StatusRuntimeException e = assertThrows(io.grpc.StatusRuntimeException.class,
                    () -> stub(ch, "forged").createCertificate(csr()));
            assertEquals(io.grpc.Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
            assertEquals("request authenticate failure: KubeJWTAuthenticator: TokenReview: [invalid bearer token, "
                    + "token lookup failed]", e.getStatus().getDescription());
        } finally {
            ch.shutdownNow();
            d.close();
        }
    }

    private static io.jmesh.api.ca.v1.IstioCertificateServiceGrpc.IstioCertificateServiceBlockingStub stub(
            io.grpc.ManagedChannel ch, String token) {
        return io.jmesh.api.ca.v1.IstioCertificateServiceGrpc.newBlockingStub(ch)
                .withDeadlineAfter(20, java.util.concurrent.TimeUnit.SECONDS)
                .withInterceptors(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(bearer(token)));
    }

    private static io.jmesh.api.ca.v1.IstioCertificateRequest csr() throws Exception {
        java.security.KeyPair kp = io.jmesh.security.ca.CaRoots.newEcKeyPair();
        var req = new org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder(
                new org.bouncycastle.asn1.x500.X500Name("O=cluster.local"), kp.getPublic())
                .build(new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA")
                        .build(kp.getPrivate()));
        java.io.StringWriter w = new java.io.StringWriter();
        try (var pw = new org.bouncycastle.openssl.jcajce.JcaPEMWriter(w)) {
            pw.writeObject(req);
        }
        return io.jmesh.api.ca.v1.IstioCertificateRequest.newBuilder().setCsr(w.toString()).build();
    }

    @Test
    void aCallWithoutBearerTokenIsLeftToTheOtherAuthenticators() throws Exception {
        var auth = new KubernetesTokenAuthenticator(client, "cluster.local");
        assertNull(auth.authenticate(new Metadata(), null));
        assertEquals(List.of(), reviewed);
    }
}
