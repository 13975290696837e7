package io.jmesh.security.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.jmesh.security.testing.TestMeshCa;

/**
 * The node agent end to end: the mesh CA over real TLS with a bearer token, the agent's SDS on a real Unix domain socket,
 * a gRPC-Java SDS client; rotation and back-off driven by a fake clock.
 */
class NodeAgentTest {

    private static final String SPIFFE = "spiffe://cluster.local/ns/default/sa/reviews";

    @TempDir
    Path dir;

    private TestMeshCa ca;
    private FakeAgentScheduler clock;
    private NodeAgent agent;
    private Path socket;

    @BeforeEach
    void setUp() throws Exception {
        ca = TestMeshCa.start(dir.resolve("ca"), "default", "reviews");
        clock = new FakeAgentScheduler();
        socket = dir.resolve("var/run/secrets/workload-spiffe-uds/socket");
        AgentOptions options = AgentOptions.builder().namespace("default").serviceAccount("reviews")
                .certTtl(Duration.ofHours(1)).graceRatioJitter(0).build();
        // jitter 0: rotation exactly at half the lifetime, so the test knows the grace point
        CaClient client = IstioCaClient.create(ca.address(), ca.rootFile(), ca.tokenFile());
        agent = NodeAgent.start(options, client, socket, clock, new SecretCache(options, client, clock, () -> 0.5));
    }

    @AfterEach
    void tearDown() throws Exception {
        agent.close();
        ca.close();
    }

    private static void poll(BooleanSupplier condition, String what) throws InterruptedException {
        for (int i = 0; i < 1000 && !condition.getAsBoolean(); i++) {
            Thread.sleep(10);
        }
        assertTrue(condition.getAsBoolean(), what + ": not reached within 10 s");
    }

    @Test
    void anSdsClientGetsTheWorkloadCertificateAndTheRoot() throws Exception {
        try (SdsClient sds = new SdsClient(socket)) {
            sds.ask("default", "ROOTCA");
            DiscoveryResponse r = sds.next();
            assertEquals(SdsServer.SECRET_TYPE, r.getTypeUrl());
            assertEquals("1", r.getVersionInfo());
            Secret cert = SdsClient.secret(r, "default");
            X509Certificate leaf = SdsClient.leaf(r);
            assertEquals(List.of(List.of(6, SPIFFE)), List.copyOf(leaf.getSubjectAlternativeNames()).stream()
                    .map(List::copyOf).toList(), "the only SAN is the workload's SPIFFE ID");
            leaf.verify(ca.root().getPublicKey());
            // The key is the one the certificate certifies: sign with it, verify with the certificate.
            PrivateKey key = parseKey(cert.getTlsCertificate().getPrivateKey().getInlineBytes().toStringUtf8());
            Signature s = Signature.getInstance("SHA256withECDSA");
            s.initSign(key);
            s.update(new byte[] {1, 2, 3});
            byte[] sig = s.sign();
            s.initVerify(leaf);
            s.update(new byte[] {1, 2, 3});
            assertTrue(s.verify(sig));
            X509Certificate root = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(
                    new ByteArrayInputStream(SdsClient.secret(r, "ROOTCA").getValidationContext().getTrustedCa()
                                                     .getInlineBytes().toByteArray()));
            assertEquals(ca.root(), root, "ROOTCA is the last element of the CA's chain");

            sds.ack(r, "default", "ROOTCA");
            poll(() -> agent.sds().acks() == 1, "the ACK is counted");
            assertTrue(sds.responses.isEmpty(), "an ACK gets no response");
        }
    }

    @Test
    void onlyTheCsrGoesToTheCaWithTheBearerToken() throws Exception {
        poll(() -> agent.secrets().current() != null, "the first certificate");
        assertEquals(1, ca.received.size());
        TestMeshCa.Received got = ca.received.get(0);
        assertEquals("Bearer " + Files.readString(ca.tokenFile()).trim(), got.headers().get(IstioCaClient.AUTHORIZATION));
        assertEquals(3600, got.request().getValidityDuration());
        assertTrue(got.request().getCsr().startsWith("-----BEGIN CERTIFICATE REQUEST-----"));
        String keyPem = agent.secrets().current().privateKeyPem();
        byte[] keyDer = Base64.getMimeDecoder().decode(keyPem.replaceAll("-----[A-Z ]+-----", ""));
        byte[] request = got.request().toByteArray();
        assertFalse(contains(request, keyDer), "the PKCS#8 key is not in the request");
        // The EC private scalar (the last 32 bytes of PKCS#8 for P-256 without public key are inside keyDer).
        byte[] scalar = ((java.security.interfaces.ECPrivateKey) parseKey(keyPem)).getS().toByteArray();
        assertFalse(contains(request, scalar), "the private scalar is not in the request");
        assertFalse(got.request().toString().contains("PRIVATE KEY"));
    }

    @Test
    void rotationAtTheGracePointIsPushedToAnOpenStreamAndNacksAreNotResent() throws Exception {
        try (SdsClient sds = new SdsClient(socket)) {
            sds.ask("default");
            DiscoveryResponse v1 = sds.next();
            sds.ack(v1, "default");
            WorkloadSecret first = agent.secrets().current();
            assertEquals(gracePoint(first), agent.secrets().nextAttempt(), "rotation when half the lifetime is left");
            long half = Duration.between(first.createdAt(), agent.secrets().nextAttempt()).toSeconds();
            assertTrue(half == 1799 || half == 1800, "half of the 1 h asked for (notAfter has whole seconds): " + half);

            clock.forwardTo(agent.secrets().nextAttempt());
            DiscoveryResponse v2 = sds.next();
            assertEquals("2", v2.getVersionInfo());
            assertNotEquals(SdsClient.leaf(v1).getSerialNumber(), SdsClient.leaf(v2).getSerialNumber());
            assertNotEquals(SdsClient.secret(v1, "default").getTlsCertificate().getPrivateKey(),
                            SdsClient.secret(v2, "default").getTlsCertificate().getPrivateKey(),
                            "each certificate has a new key");
            assertEquals(2, ca.received.size());

            sds.nack(v2, "1", "default");
            poll(() -> agent.sds().nacks() == 1, "the NACK is counted");
            // a stale nonce (v1's) is ignored; asking for another name gets an answer with the current version
            sds.send(DiscoveryRequest.newBuilder().setResponseNonce(v1.getNonce()).addResourceNames("ROOTCA").build());
            sds.ack(v2, "default", "ROOTCA");
            DiscoveryResponse both = sds.next();
            assertEquals("2", both.getVersionInfo());
            assertEquals(2, both.getResourcesCount());
            assertTrue(sds.responses.isEmpty());
        }
    }

    @Test
    void aCaThatIsDownIsRetriedWithBackoffWhileTheCertificateKeepsServing() throws Exception {
        try (SdsClient sds = new SdsClient(socket)) {
            sds.ask("default", "ROOTCA");
            DiscoveryResponse v1 = sds.next();
            sds.ack(v1, "default", "ROOTCA");
            ca.stop();

            clock.forwardTo(agent.secrets().nextAttempt());
            poll(() -> agent.secrets().consecutiveFailures() == 1, "the first CA call fails");
            assertEquals(Status.Code.UNAVAILABLE,
                         ((StatusRuntimeException) agent.secrets().lastError()).getStatus().getCode());
            assertEquals(clock.now().plusSeconds(1), agent.secrets().nextAttempt(), "retry after 1 s");
            clock.forward(Duration.ofSeconds(1));
            poll(() -> agent.secrets().consecutiveFailures() == 2, "the second CA call fails");
            assertEquals(clock.now().plusSeconds(2), agent.secrets().nextAttempt(), "retry after 2 s");
            clock.forward(Duration.ofSeconds(2));
            poll(() -> agent.secrets().consecutiveFailures() == 3, "the third CA call fails");
            assertEquals(clock.now().plusSeconds(4), agent.secrets().nextAttempt(), "retry after 4 s");

            try (SdsClient other = new SdsClient(socket)) {
                other.ask("default");
                assertEquals(SdsClient.leaf(v1), SdsClient.leaf(other.next()),
                             "a new stream still gets the current certificate");
            }
            assertTrue(sds.responses.isEmpty(), "no push while the CA is down");

            ca.restart();
            clock.forward(Duration.ofSeconds(4));
            DiscoveryResponse v2 = sds.next();
            assertEquals("2", v2.getVersionInfo());
            assertNotEquals(SdsClient.leaf(v1).getSerialNumber(), SdsClient.leaf(v2).getSerialNumber());
            assertEquals(0, agent.secrets().consecutiveFailures());
            assertEquals(gracePoint(agent.secrets().current()), agent.secrets().nextAttempt(),
                         "the next rotation at the new certificate's grace point");
        }
    }

    @Test
    void anRsaAgentGetsAnRsaCertificate() throws Exception {
        AgentOptions rsa = AgentOptions.builder().namespace("default").serviceAccount("reviews")
                .keyType(KeyType.RSA_2048).build();
        Path other = dir.resolve("rsa/socket");
        try (NodeAgent a = NodeAgent.start(rsa, IstioCaClient.create(ca.address(), ca.rootFile(), ca.tokenFile()), other,
                                           AgentScheduler.system());
             SdsClient sds = new SdsClient(other)) {
            sds.ask("default");
            DiscoveryResponse r = sds.next();
            assertEquals("RSA", SdsClient.leaf(r).getPublicKey().getAlgorithm());
            assertEquals(2048, ((java.security.interfaces.RSAPublicKey) SdsClient.leaf(r).getPublicKey()).getModulus()
                    .bitLength());
            assertEquals(Duration.ofHours(24).toSeconds(),
                         ca.received.get(ca.received.size() - 1).request().getValidityDuration(), "Istio's 24 h");
        }
    }

    @Test
    void aStreamForAnotherTypeIsRefusedByName() throws Exception {
        try (SdsClient sds = new SdsClient(socket)) {
            sds.send(DiscoveryRequest.newBuilder().setTypeUrl("type.googleapis.com/envoy.config.cluster.v3.Cluster")
                             .addResourceNames("default").build());
            Throwable e = sds.errors.poll(10, TimeUnit.SECONDS);
            assertEquals(Status.Code.INVALID_ARGUMENT, Status.fromThrowable(e).getCode());
            assertTrue(Status.fromThrowable(e).getDescription().startsWith(
                    "type_url: type.googleapis.com/envoy.config.cluster.v3.Cluster (expected: "), e.toString());
        }
    }

    /** Half the lifetime before expiry (jitter 0). */
    private static java.time.Instant gracePoint(WorkloadSecret s) {
        return s.expiresAt().minusMillis(Duration.between(s.createdAt(), s.expiresAt()).toMillis() / 2);
    }

    static PrivateKey parseKey(String pem) throws Exception {
        byte[] der = Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", ""));
        return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(der));
    }

    private static boolean contains(byte[] hay, byte[] needle) {
        String h = new String(hay, StandardCharsets.ISO_8859_1);
        return h.contains(new String(needle, StandardCharsets.ISO_8859_1));
    }
}
