package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.RawHttp;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.testing.TlsHttpClient;
import io.jmesh.proxy.xds.AdsBootstrap;
import io.jmesh.proxy.xds.ListenerBinding;
import io.jmesh.security.agent.AgentOptions;
import io.jmesh.security.agent.AgentScheduler;
import io.jmesh.security.agent.IstioCaClient;
import io.jmesh.security.agent.NodeAgent;
import io.jmesh.security.agent.WorkloadSecret;
import io.jmesh.security.ca.Pem;
import io.jmesh.security.testing.TestMeshCa;

/**
 * Workload certificate rotation with traffic flowing, as a user runs it: {@code jmesh discovery} with a mesh-wide
 * STRICT PeerAuthentication, a reviews sidecar and a productpage sidecar, each with its own node agent getting
 * short-lived certificates from the real CA (over TLS, with its own bearer token) on the real clock. The
 * DestinationRule's {@code maxRequestsPerConnection: 1} makes every request a new sidecar-to-sidecar mTLS
 * handshake, so both sides' certificates are used fresh all the time. Two clients call reviews through the
 * productpage sidecar without pause: one over a single kept-alive connection, one opening a new connection per
 * request.
 * <ul>
 *   <li>Across two rotations and past the expiry of the first certificates, no request fails, and a new handshake
 *       with the reviews sidecar sees its certificate serial change.</li>
 *   <li>With the CA stopped past the rotation point, traffic keeps flowing on the current certificates (the agent
 *       retries with back-off); when the CA returns, rotation resumes and no request failed.</li>
 * </ul>
 */
class MtlsRotationUnderLoadTest {

    private static final String WORKLOAD_IP = "127.0.0.81";
    private static final String HOST = "reviews.default.svc.cluster.local";

    @TempDir
    Path dir;

    private TestMeshCa ca;
    private DiscoveryServer discovery;
    private TestBackend backend;
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private NodeAgent reviewsAgent;
    private NodeAgent productpageAgent;
    private ProxyServer server;
    private ProxyServer client;

    @AfterEach
    void stop() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
        if (discovery != null) {
            discovery.close();
        }
        if (ca != null) {
            ca.close();
        }
    }

    private <T extends AutoCloseable> T later(T c) {
        closeables.add(c);
        return c;
    }

    /** Starts the mesh; each agent asks for {@code ttl} and rotates when {@code graceRatio} of it is left. */
    private void startMesh(Duration ttl, double graceRatio) throws Exception {
        ca = TestMeshCa.start(dir.resolve("ca"), "default", "reviews", "productpage");
        backend = later(TestBackend.start("reviews"));
        Path config = Files.createDirectories(dir.resolve("config"));
        Files.writeString(config.resolve("mesh.yaml"), """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: reviews, namespace: default}
                spec:
                  hosts: [%1$s]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 9080, name: http, protocol: HTTP}]
                  workloadSelector: {labels: {app: reviews}}
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: reviews-v1, namespace: default}
                spec:
                  address: %2$s
                  ports: {http: %3$d}
                  serviceAccount: reviews
                  labels: {app: reviews, security.istio.io/tlsMode: istio}
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: default}
                spec:
                  host: %1$s
                  trafficPolicy:
                    connectionPool: {http: {maxRequestsPerConnection: 1}}
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: istio-system}
                spec: {mtls: {mode: STRICT}}
                """.formatted(HOST, WORKLOAD_IP, backend.port()));
        discovery = DiscoveryServer.start(new DiscoveryOptions(config, new InetSocketAddress("127.0.0.1", 0),
                new InetSocketAddress("127.0.0.1", 0), null, Duration.ofMillis(20)));
        reviewsAgent = agent("reviews", ttl, graceRatio);
        productpageAgent = agent("productpage", ttl, graceRatio);
        server = sidecar("sidecar~" + WORKLOAD_IP + "~reviews-v1-1.default~default.svc.cluster.local", "reviews",
                reviewsAgent, new ListenerBinding("127.0.0.1", Map.of(), WORKLOAD_IP));
        client = sidecar("sidecar~127.0.0.82~productpage-1.default~default.svc.cluster.local", "productpage",
                productpageAgent, new ListenerBinding("127.0.0.1", Map.of(9080, 0)));
        Poll.until(() -> outboundPort() > 0 && callNewConnection() == null, "productpage's sidecar reaches reviews");
    }

    private NodeAgent agent(String serviceAccount, Duration ttl, double graceRatio) throws Exception {
        AgentOptions options = AgentOptions.builder().namespace("default").serviceAccount(serviceAccount)
                .certTtl(ttl).graceRatio(graceRatio).build();
        return later(NodeAgent.start(options, IstioCaClient.create(ca.address(), ca.rootFile(),
                ca.tokenFile(serviceAccount)), dir.resolve(serviceAccount + ".sock"), AgentScheduler.system()));
    }

    private ProxyServer sidecar(String nodeId, String app, NodeAgent agent, ListenerBinding binding) throws Exception {
        return later(ProxyServer.start(AdsBootstrap.withSdsCluster(AdsBootstrap.forDiscovery("127.0.0.1",
                discovery.grpcAddress().getPort(), nodeId, Map.of(), Map.of("app", app), 0), agent.sds().socket()), 1,
                binding));
    }

    private int outboundPort() {
        InetSocketAddress a = client.listenerAddresses().get("0.0.0.0_9080");
        return a == null ? 0 : a.getPort();
    }

    /** One request on a new connection to the client sidecar; null when served, else what went wrong. */
    private String callNewConnection() {
        try {
            RawHttp.Response r = RawHttp.exchange(outboundPort(), "GET /hello HTTP/1.1\r\nHost: " + HOST
                    + "\r\nConnection: close\r\n\r\n", false);
            return r.status == 200 ? null : "new connection: " + r;
        } catch (Exception e) {
            return "new connection: " + e;
        }
    }

    /** The two clients of the load, each on its own thread; failures are collected, asserted on by the test. */
    private final class Load implements AutoCloseable {
        final AtomicInteger keptOk = new AtomicInteger();
        final AtomicInteger newOk = new AtomicInteger();
        final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final List<Thread> threads = new ArrayList<>();

        Load() {
            threads.add(new Thread(() -> {
                java.net.Socket kept = null;
                while (running.get()) {
                    try {
                        if (kept == null) {
                            kept = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), outboundPort());
                            kept.setSoTimeout(10_000);
                        }
                        kept.getOutputStream().write(("GET /hello HTTP/1.1\r\nHost: " + HOST + "\r\n\r\n")
                                .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
                        RawHttp.Response r = RawHttp.read(kept.getInputStream(), false);
                        if (r.status == 200) {
                            keptOk.incrementAndGet();
                        } else {
                            failures.add("kept-alive: " + r);
                        }
                    } catch (Exception e) {
                        failures.add("kept-alive: " + e);
                        closeQuietly(kept);
                        kept = null;
                    }
                }
                closeQuietly(kept);
            }, "load-kept-alive"));
            threads.add(new Thread(() -> {
                while (running.get()) {
                    String failure = callNewConnection();
                    if (failure == null) {
                        newOk.incrementAndGet();
                    } else {
                        failures.add(failure);
                    }
                }
            }, "load-new-connections"));
            threads.forEach(Thread::start);
        }

        @Override
        public void close() throws InterruptedException {
            running.set(false);
            for (Thread t : threads) {
                t.join(15_000);
            }
        }
    }

    private static void closeQuietly(java.net.Socket s) {
        try {
            if (s != null) {
                s.close();
            }
        } catch (java.io.IOException e) {
            // closing
        }
    }

    /** The serial of the certificate the reviews sidecar presents on a new mTLS handshake (as productpage). */
    private BigInteger servedSerial() throws Exception {
        WorkloadSecret me = productpageAgent.secrets().current();
        try (TlsHttpClient c = TlsHttpClient.connect(WORKLOAD_IP, backend.port(), ca.root(), me.leaf(),
                Pem.privateKey(me.privateKeyPem()))) {
            assertEquals(200, c.get("/hello").status());
            return c.serverSerial();
        }
    }

    private BigInteger servedSerialQuietly() {
        try {
            return servedSerial();
        } catch (Exception | AssertionError e) {
            return BigInteger.ZERO;
        }
    }

    private long serverHandshakes() {
        return server.stats().counterValues().getOrDefault(
                "listener." + WORKLOAD_IP + "_" + backend.port() + ".ssl.handshake", 0L);
    }

    @Test
    void twoRotationsAndAnExpiryUnderLoadFailNoRequest() throws Exception {
        startMesh(Duration.ofSeconds(8), 0.5);
        WorkloadSecret first = reviewsAgent.secrets().current();
        Poll.until(() -> servedSerialQuietly().equals(first.leaf().getSerialNumber()),
                "the reviews sidecar serves the agent's first certificate");
        long handshakesBefore = serverHandshakes();
        Load load = new Load();
        try {
            Poll.until(() -> reviewsAgent.secrets().current().version() >= 2
                            && productpageAgent.secrets().current().version() >= 2, "the first rotation of both agents");
            Poll.until(() -> reviewsAgent.secrets().current().version() >= 3
                            && productpageAgent.secrets().current().version() >= 3,
                    "the second rotation of both agents");
            Poll.until(() -> Instant.now().isAfter(first.expiresAt().plusSeconds(1)),
                    "the first certificate has expired");
            int keptAtExpiry = load.keptOk.get();
            int newAtExpiry = load.newOk.get();
            Poll.until(() -> load.keptOk.get() > keptAtExpiry && load.newOk.get() > newAtExpiry,
                    "traffic after the first certificates expired");
        } finally {
            load.close();
        }
        assertEquals(List.of(), List.copyOf(load.failures), "no request failed across the rotations");
        long requests = load.keptOk.get() + load.newOk.get();
        long handshakes = serverHandshakes() - handshakesBefore;
        assertTrue(handshakes >= requests, "each of the " + requests + " requests was a new sidecar-to-sidecar mTLS "
                + "handshake (maxRequestsPerConnection: 1): " + handshakes + " handshakes");
        WorkloadSecret now = reviewsAgent.secrets().current();
        assertNotEquals(first.leaf().getSerialNumber(), now.leaf().getSerialNumber());
        Poll.until(() -> servedSerialQuietly().equals(reviewsAgent.secrets().current().leaf().getSerialNumber()),
                "a new handshake gets the reviews sidecar's current certificate");
        assertNotEquals(first.leaf().getSerialNumber(), servedSerial(), "the served certificate changed");
        assertTrue(first.expiresAt().isBefore(Instant.now()), "served after the first certificate expired");
    }

    @Test
    void trafficKeepsFlowingWhileTheCaIsDownAndRotationResumesWhenItReturns() throws Exception {
        // A 30 s certificate renewed when 80% of its life is left: the first renewal falls ~6 s in, leaving ~24 s
        // of validity for the CA's outage and the agent's back-off (1 s, 2 s, 4 s, ...).
        startMesh(Duration.ofSeconds(30), 0.8);
        WorkloadSecret first = reviewsAgent.secrets().current();
        ca.stop();
        Load load = new Load();
        try {
            Poll.until(() -> reviewsAgent.secrets().consecutiveFailures() >= 1, "the agent's renewal failed (CA down)");
            Poll.until(() -> reviewsAgent.secrets().consecutiveFailures() >= 2, "and its retry failed too");
            int keptBefore = load.keptOk.get();
            int newBefore = load.newOk.get();
            Poll.until(() -> load.keptOk.get() > keptBefore && load.newOk.get() > newBefore,
                    "traffic flows on the current certificates while the CA is down");
            assertEquals(first.version(), reviewsAgent.secrets().current().version(), "still the first certificate");
            assertEquals(first.leaf().getSerialNumber(), servedSerial(), "and the sidecar serves it");

            ca.restart();
            Poll.until(() -> reviewsAgent.secrets().current().version() > first.version(),
                    "rotation resumes once the CA is back");
            Poll.until(() -> servedSerialQuietly().equals(reviewsAgent.secrets().current().leaf().getSerialNumber()),
                    "new handshakes get the renewed certificate");
            int keptAfter = load.keptOk.get();
            int newAfter = load.newOk.get();
            Poll.until(() -> load.keptOk.get() > keptAfter && load.newOk.get() > newAfter,
                    "traffic flows on the renewed certificates");
        } finally {
            load.close();
        }
        assertEquals(List.of(), List.copyOf(load.failures), "no request failed while the CA was down or after");
        assertNotEquals(first.leaf().getSerialNumber(), servedSerial(), "the served certificate changed");
    }
}
