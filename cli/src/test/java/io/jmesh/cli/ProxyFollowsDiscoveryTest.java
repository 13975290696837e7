package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.xds.AdsBootstrap;
import io.jmesh.proxy.xds.ListenerBinding;

/**
 * End to end: {@code jmesh discovery} reads Istio YAML from a directory, a sidecar {@link ProxyServer} follows it
 * over ADS, and curl goes through the sidecar's outbound listener to backends registered by a ServiceEntry and
 * WorkloadEntries. Real sockets on port 0 of 127.0.0.1; the sidecar's {@code 0.0.0.0_9080} listener is bound
 * on 127.0.0.1 at a free port ({@link ListenerBinding}).
 */
class ProxyFollowsDiscoveryTest {

    private static final String NODE = "sidecar~10.0.0.1~client.default~default.svc.cluster.local";
    private static final String HOST = "backend.default.svc.cluster.local:9080";

    @TempDir
    Path dir;

    private TestBackend v1;
    private TestBackend v2;
    private DiscoveryServer discovery;
    private ProxyServer proxy;

    @BeforeEach
    void start() throws Exception {
        v1 = TestBackend.start("backend-v1");
        v2 = TestBackend.start("backend-v2");
        write("mesh.yaml", mesh(100, 0));
        discovery = startDiscovery(0);
        proxy = ProxyServer.start(AdsBootstrap.forDiscovery("127.0.0.1", discovery.grpcAddress().getPort(), NODE,
                Map.of(), Map.of("app", "client"), 0), 1, new ListenerBinding("127.0.0.1", Map.of(9080, 0)));
        waitFor(() -> proxy.listenerAddresses().containsKey("0.0.0.0_9080"), "the outbound listener from LDS");
    }

    @AfterEach
    void stop() {
        if (proxy != null) {
            proxy.close();
        }
        if (discovery != null) {
            discovery.close();
        }
        v1.close();
        v2.close();
    }

    private DiscoveryServer startDiscovery(int grpcPort) throws Exception {
        return DiscoveryServer.start(new DiscoveryOptions(dir, new InetSocketAddress("127.0.0.1", grpcPort),
                new InetSocketAddress("127.0.0.1", 0), null, DiscoveryOptions.DEFAULT_DEBOUNCE));
    }

    private String mesh(int w1, int w2) {
        return """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: backend, namespace: default}
                spec:
                  hosts: [backend.default.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 9080, name: http, protocol: HTTP}]
                  workloadSelector: {labels: {app: backend}}
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: backend-v1, namespace: default}
                spec: {address: 127.0.0.1, ports: {http: %d}, labels: {app: backend, version: v1}}
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: backend-v2, namespace: default}
                spec: {address: 127.0.0.1, ports: {http: %d}, labels: {app: backend, version: v2}}
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: backend, namespace: default}
                spec:
                  host: backend
                  subsets:
                  - {name: v1, labels: {version: v1}}
                  - {name: v2, labels: {version: v2}}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: backend, namespace: default}
                spec:
                  hosts: [backend]
                  http:
                  - route:
                    - {destination: {host: backend, subset: v1}, weight: %d}
                    - {destination: {host: backend, subset: v2}, weight: %d}
                """.formatted(v1.port(), v2.port(), w1, w2);
    }

    private void write(String name, String text) throws Exception {
        Path tmp = dir.resolve("." + name + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private Curl.Result curl(String path) throws Exception {
        int port = proxy.listenerAddresses().get("0.0.0.0_9080").getPort();
        return Curl.run("-H", "Host: " + HOST, "http://127.0.0.1:" + port + path);
    }

    private static void waitFor(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }

    private String backendOf(Curl.Result r) {
        return r.status == 200 ? r.header("x-backend") : "status " + r.status;
    }

    private void waitForBackend(String backend) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String last = null;
        while (System.nanoTime() < deadline) {
            last = backendOf(curl("/hello"));
            if (backend.equals(last)) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("never reached " + backend + "; last answer: " + last);
    }

    private String syncz() throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + discovery.monitoringAddress().getPort() + "/debug/syncz")).build(),
                HttpResponse.BodyHandlers.ofString());
        return r.body();
    }

    private String configDump() throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + proxy.adminAddress().getPort() + "/config_dump")).build(),
                HttpResponse.BodyHandlers.ofString());
        return r.body();
    }

    @Test
    void sidecarRoutesThroughItsListenerFromDiscovery() throws Exception {
        waitForBackend("backend-v1");
        for (int i = 0; i < 5; i++) {
            Curl.Result r = curl("/hello/" + i);
            assertEquals(200, r.status, r.toString());
            assertEquals("backend-v1", r.header("x-backend"));
        }
        assertEquals(0, v2.requests.get());
        String dump = configDump();
        assertTrue(dump.contains("\"dynamic_active_clusters\""), dump);
        assertTrue(dump.contains("outbound|9080|v1|backend.default.svc.cluster.local"), dump);
        assertTrue(dump.contains("\"dynamic_listeners\""), dump);
        assertTrue(dump.contains("\"dynamic_route_configs\""), dump);
        waitFor(() -> {
            try {
                String s = syncz();
                return s.contains("SYNCED") && !s.contains("NACKED") && !s.contains("STALE");
            } catch (Exception e) {
                return false;
            }
        }, "every type ACKed in /debug/syncz");
    }

    @Test
    void editingTheVirtualServiceShiftsTraffic() throws Exception {
        waitForBackend("backend-v1");
        write("mesh.yaml", mesh(0, 100));
        waitForBackend("backend-v2");
        int before = v1.requests.get();
        for (int i = 0; i < 5; i++) {
            assertEquals("backend-v2", backendOf(curl("/after")));
        }
        assertEquals(before, v1.requests.get());
    }

    @Test
    void invalidClusterIsNackedAndTrafficContinues() throws Exception {
        waitForBackend("backend-v1");
        // Valid Istio, but the CA file does not exist: the proxy cannot build the cluster and NACKs CDS.
        write("tls.yaml", """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: secure, namespace: default}
                spec:
                  hosts: [secure.example.com]
                  location: MESH_EXTERNAL
                  resolution: STATIC
                  ports: [{number: 8443, name: https, protocol: TLS}]
                  endpoints: [{address: 127.0.0.1}]
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: secure, namespace: default}
                spec:
                  host: secure.example.com
                  trafficPolicy:
                    tls: {mode: SIMPLE, caCertificates: /nonexistent/jmesh-test/ca.pem}
                """);
        waitFor(() -> {
            try {
                return syncz().contains("\"cluster_state\":\"NACKED\"") || syncz().contains("\"cluster_state\" : \"NACKED\"");
            } catch (Exception e) {
                return false;
            }
        }, "a CDS NACK in /debug/syncz");
        String s = syncz();
        assertTrue(s.contains("/nonexistent/jmesh-test/ca.pem"), s);
        for (int i = 0; i < 5; i++) {
            Curl.Result r = curl("/still");
            assertEquals(200, r.status, r.toString());
            assertEquals("backend-v1", r.header("x-backend"));
        }
        String dump = configDump();
        assertTrue(java.util.regex.Pattern.compile("\"name\"\\s*:\\s*\"outbound\\|9080\\|v1\\|backend\\.")
                .matcher(dump).find(), dump);
        assertTrue(!java.util.regex.Pattern.compile("\"name\"\\s*:\\s*\"outbound\\|8443\\|\\|secure\\.example\\.com\"")
                .matcher(dump).find(), "the rejected cluster is not in /config_dump: " + dump);
    }

    @Test
    void discoveryRestartUnderTrafficLosesNoRequest() throws Exception {
        waitForBackend("backend-v1");
        int grpcPort = discovery.grpcAddress().getPort();
        AtomicBoolean run = new AtomicBoolean(true);
        AtomicInteger ok = new AtomicInteger();
        List<String> failures = new ArrayList<>();
        Thread traffic = new Thread(() -> {
            while (run.get()) {
                try {
                    Curl.Result r = curl("/traffic");
                    if (r.status == 200) {
                        ok.incrementAndGet();
                    } else {
                        synchronized (failures) {
                            failures.add(r.toString());
                        }
                    }
                } catch (Exception e) {
                    synchronized (failures) {
                        failures.add(e.toString());
                    }
                }
            }
        });
        traffic.start();
        try {
            waitFor(() -> ok.get() >= 5, "traffic before the restart");
            discovery.close();
            discovery = null;
            int during = ok.get();
            waitFor(() -> ok.get() >= during + 10, "traffic while discovery is down");
            discovery = startDiscovery(grpcPort);
            waitFor(() -> {
                try {
                    String s = syncz();
                    return s.contains(NODE) && s.contains("SYNCED");
                } catch (Exception e) {
                    return false;
                }
            }, "the sidecar reconnected");
            // The restarted discovery pushes a change: the reconnected sidecar follows it.
            write("mesh.yaml", mesh(0, 100));
            waitFor(() -> v2.requests.get() > 0, "traffic to v2 after the restart");
            int after = ok.get();
            waitFor(() -> ok.get() >= after + 5, "traffic after the restart");
        } finally {
            run.set(false);
            traffic.join();
        }
        assertEquals(List.of(), failures);
    }
}
