package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.cli.iptables.CaptureConfig;
import io.jmesh.cli.iptables.CaptureRules;
import io.jmesh.cli.iptables.CommandRunner;
import io.jmesh.cli.iptables.IptablesApplier;
import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;

/**
 * Transparent capture for real: two "pods", each a network namespace made by the test, linked by a veth pair
 * ({@code productpage} 10.250.N.2, {@code reviews} 10.250.N.3). In each, {@code jmesh iptables} rules (Istio's, applied
 * with {@code iptables-restore} inside the namespace) and a {@code jmesh proxy} sidecar following discovery with node
 * metadata {@code INTERCEPTION_MODE=REDIRECT}, run as UID 1337 (with {@code setpriv}; it keeps
 * {@code CAP_DAC_READ_SEARCH} only to read the class path under {@code /root}). The application is unchanged:
 * {@code curl http://reviews.default.svc.cluster.local:9080/} in the productpage namespace (the name resolved by the
 * namespace's {@code /etc/hosts} to the service VIP, on which nothing listens), and a plain HTTP server on 0.0.0.0 in
 * the reviews namespace. Discovery runs in this JVM on a dummy link of the root namespace, reached by each pod over a
 * veth of its own. Skipped (with the reason) unless root with ip, iptables and setpriv.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TransparentCaptureTest {

    private static final String HOST = "reviews.default.svc.cluster.local";

    private final String run = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0x10000));
    private final int subnet = ThreadLocalRandom.current().nextInt(100, 200);
    private final String net = "10.250." + subnet + ".";
    private final List<Process> processes = new ArrayList<>();
    private final List<Path> logs = new ArrayList<>();
    private NetworkNamespaces namespaces;
    private DiscoveryServer discovery;
    private String productpage;
    private String reviews;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        String missing = NetworkNamespaces.missing();
        Assumptions.assumeTrue(missing == null, () -> "transparent capture needs root, ip, iptables and setpriv: "
                + missing);
        NetworkNamespaces.removeStale();
        namespaces = new NetworkNamespaces(run);
        String vip = net + "100";
        String discoveryIp = net + "254";
        String hosts = "127.0.0.1 localhost\n" + vip + " " + HOST + " reviews\n" + net + "101 ratings\n";
        productpage = namespaces.add("pp", hosts);
        reviews = namespaces.add("rv", hosts);
        namespaces.link(productpage, net + "2/24", reviews, net + "3/24", "eth0");
        namespaces.linkToRoot(productpage, net + "2", discoveryIp, "eth1");
        namespaces.linkToRoot(reviews, net + "3", discoveryIp, "eth1");

        Path config = Files.createDirectories(dir.resolve("istio"));
        Files.writeString(config.resolve("mesh.yaml"), """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: reviews, namespace: default}
                spec:
                  hosts: [reviews.default.svc.cluster.local]
                  addresses: [%1$s100]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 9080, name: http, protocol: HTTP}]
                  workloadSelector: {labels: {app: reviews}}
                ---
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: ratings, namespace: default}
                spec:
                  hosts: [ratings.default.svc.cluster.local]
                  addresses: [%1$s101]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 9091, name: tcp, protocol: TCP}]
                  workloadSelector: {labels: {app: reviews}}
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: reviews-v1, namespace: default}
                spec: {address: %1$s3, labels: {app: reviews, version: v1}}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: reviews, namespace: default}
                spec:
                  hosts: [reviews.default.svc.cluster.local]
                  http:
                  - headers: {request: {set: {x-capture-route: reviews-vs}}}
                    route: [{destination: {host: reviews.default.svc.cluster.local, port: {number: 9080}}}]
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: default}
                spec:
                  host: reviews.default.svc.cluster.local
                  trafficPolicy: {tls: {mode: DISABLE}}
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: default}
                spec: {mtls: {mode: DISABLE}}
                """.formatted(net), StandardCharsets.UTF_8);
        discovery = DiscoveryServer.start(new DiscoveryOptions(config, new InetSocketAddress(discoveryIp, 0),
                new InetSocketAddress("127.0.0.1", 0), null, DiscoveryOptions.DEFAULT_DEBOUNCE));
        int xds = discovery.grpcAddress().getPort();

        // The reviews application: plain HTTP on 0.0.0.0:9080 (service reviews), 9091 (service ratings, TCP) and
        // 7070 (no service).
        start(dir, "reviews-app", List.of("ip", "netns", "exec", reviews, java(), "-Xmx32m", "-cp",
                testClasses(), EchoApp.class.getName(), "9080", "9091", "7070"));
        // Istio's rules in each pod, as its injector writes them: every outbound destination, every inbound port
        // (reviews); UID 1337 excluded.
        apply(productpage, "*", "");
        apply(reviews, "*", "*");
        sidecar(dir, productpage, net + "2", "productpage-v1", "productpage", xds);
        sidecar(dir, reviews, net + "3", "reviews-v1", "reviews", xds);
    }

    private void apply(String ns, String outboundCidrs, String inboundPorts) throws IOException {
        CaptureConfig d = CaptureConfig.defaults();
        CaptureConfig c = new CaptureConfig(d.proxyPort(), d.inboundCapturePort(), d.inboundTunnelPort(),
                d.proxyUids(), d.proxyGids(), CaptureConfig.Mode.REDIRECT, CaptureConfig.split(outboundCidrs),
                List.of(), CaptureConfig.split(inboundPorts), List.of(), List.of(), List.of(), List.of(), List.of(),
                d.tproxyMark(), d.tproxyRouteTable(), List.of(), List.of());
        new IptablesApplier(CommandRunner.prefixed(List.of("ip", "netns", "exec", ns))).apply(CaptureRules.of(c));
    }

    private void sidecar(Path dir, String ns, String ip, String pod, String app, int xds) throws IOException {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        start(dir, pod + "-sidecar", List.of("ip", "netns", "exec", ns, "setpriv", "--reuid=1337", "--regid=1337",
                "--clear-groups", "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", java(),
                "-Xmx128m", "-Djava.io.tmpdir=/tmp", "-cp", cp, Main.class.getName(), "proxy",
                "--discovery-address", net + "254:" + xds,
                "--node-id", "sidecar~" + ip + "~" + pod + ".default~default.svc.cluster.local",
                "--node-metadata", "INTERCEPTION_MODE=REDIRECT", "--node-label", "app=" + app,
                "--admin-port", "15000", "--prometheus-port", "-1", "--status-port", "-1", "--concurrency", "1",
                "--drain-time", "0"));
    }

    private void start(Path dir, String name, List<String> cmd) throws IOException {
        Path log = dir.resolve(name + ".log");
        logs.add(log);
        processes.add(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start());
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static String testClasses() {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        for (String entry : cp.split(File.pathSeparator)) {
            if (entry.endsWith("test-classes")) {
                return entry;
            }
        }
        throw new IllegalStateException("no test-classes on " + cp);
    }

    @AfterAll
    void stop() throws Exception {
        for (Process p : processes) {
            p.destroy();
        }
        for (Process p : processes) {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        if (discovery != null) {
            discovery.close();
        }
        if (namespaces != null) {
            namespaces.close();
        }
    }

    /** curl in a namespace: {@code [status, body]}; status 0 when curl could not connect. */
    private static String[] curl(String ns, String url) throws IOException {
        String out;
        try {
            out = NetworkNamespaces.in(ns, "curl", "-sS", "-m", "10", "-w", "\n%{http_code}", url);
        } catch (IOException e) {
            return new String[] {"0", e.getMessage()};
        }
        int nl = out.lastIndexOf('\n');
        return new String[] {out.substring(nl + 1), out.substring(0, Math.max(nl, 0))};
    }

    /** Waits (the sidecars' JVMs start, then follow discovery) until curl gets a 200; the last answer. */
    private String[] awaitOk(String ns, String url) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        String[] r = curl(ns, url);
        while (!r[0].equals("200") && System.nanoTime() < deadline) {
            Thread.sleep(250);
            r = curl(ns, url);
        }
        return r;
    }

    private String logs() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (Path l : logs) {
            List<String> lines = Files.exists(l) ? Files.readAllLines(l) : List.of();
            sb.append("--- ").append(l.getFileName()).append('\n');
            lines.subList(Math.max(0, lines.size() - 30), lines.size()).forEach(s -> sb.append(s).append('\n'));
        }
        return sb.toString();
    }

    @Test
    void anUnchangedClientReachesTheServiceThroughBothCapturedSidecars() throws Exception {
        String[] r = awaitOk(productpage, "http://" + HOST + ":9080/reviews/1");
        String body = r[1];
        assertEquals("200", r[0], () -> body + "\n" + logsOrError());
        // The client's sidecar took the connection to the VIP (iptables REDIRECT to 15001, handed off to 0.0.0.0_9080)
        // and routed it by the VirtualService, which set this header.
        assertTrue(body.contains("\nx-capture-route: reviews-vs\n"), body);
        assertTrue(body.contains("\nhost: " + HOST + ":9080\n"), body);
        // The server's sidecar took it inbound (REDIRECT to 15006, chain of port 9080) and called the app on
        // 127.0.0.1: the app saw its own sidecar, not the client's address.
        assertTrue(body.startsWith("remote=127.0.0.1\nport=9080\n"), body);
        String stats = NetworkNamespaces.in(reviews, "curl", "-sS", "http://127.0.0.1:15000/stats");
        assertTrue(stats.contains("cluster.inbound|9080||.upstream_rq_total: "), stats);
    }

    @Test
    void aTcpServiceIsHandedToTheListenerOfItsVip() throws Exception {
        awaitOk(productpage, "http://" + HOST + ":9080/"); // the sidecars are up
        // ratings:9091 is a TCP service with its own VIP: the redirected connection goes to the listener
        // <VIP>_9091 (exact address), tcp_proxy to the endpoint, and reviews' inbound chain of port 9091.
        String[] r = curl(productpage, "http://ratings:9091/tcp"); // LDS came whole with reviews
        assertEquals("200", r[0], () -> r[1] + "\n" + logsOrError());
        assertTrue(r[1].startsWith("remote=127.0.0.1\nport=9091\n"), r[1]);
        assertTrue(r[1].contains("\nhost: ratings:9091\n"), "bytes passed unchanged (no HTTP routing): " + r[1]);
        String client = NetworkNamespaces.in(productpage, "curl", "-sS", "http://127.0.0.1:15000/stats");
        assertTrue(client.contains("cluster.outbound|9091||ratings.default.svc.cluster.local.upstream_cx_total: 1\n"),
                client);
    }

    @Test
    void aPortOutsideTheMeshPassesThroughBothSidecarsToTheOriginalDestination() throws Exception {
        awaitOk(productpage, "http://" + HOST + ":9080/"); // the sidecars are up
        // 7070 is no service port. The client's virtualOutbound keeps the connection (ALLOW_ANY) and its
        // PassthroughCluster connects to the original destination; reviews captures it inbound (-b *), no chain takes
        // port 7070, and InboundPassthroughCluster connects to the original destination from 127.0.0.6, which the
        // rules let through to the app.
        String[] r = curl(productpage, "http://" + net + "3:7070/other");
        assertEquals("200", r[0], () -> r[1] + "\n" + logsOrError());
        assertTrue(r[1].startsWith("remote=127.0.0.6\nport=7070\n"), r[1]);
        String client = NetworkNamespaces.in(productpage, "curl", "-sS", "http://127.0.0.1:15000/stats");
        assertTrue(client.contains("cluster.PassthroughCluster.upstream_cx_total: 1\n"), client);
        String server = NetworkNamespaces.in(reviews, "curl", "-sS", "http://127.0.0.1:15000/stats");
        assertTrue(server.contains("cluster.InboundPassthroughCluster.upstream_cx_total: 1\n"), server);
    }

    private String logsOrError() {
        try {
            return logs();
        } catch (IOException e) {
            return e.toString();
        }
    }
}
