package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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

import io.jmesh.cli.iptables.CommandRunner;
import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.proxy.testing.Poll;
import picocli.CommandLine;

/**
 * TPROXY mode for real: two "pods" (network namespaces made by the test, linked by a veth pair): {@code client}
 * (10.252.N.2, rules {@code jmesh iptables -i '*'}, its sidecar {@code INTERCEPTION_MODE=REDIRECT}) and
 * {@code server} (10.252.N.3, rules {@code jmesh iptables -m TPROXY -b '*'} with the policy route, its sidecar
 * {@code INTERCEPTION_MODE=TPROXY} with {@code CAP_NET_ADMIN} for its transparent sockets). Both sidecars run as UID
 * 1337 and follow discovery (in this JVM, over a veth of each pod). The applications are unchanged: curl in the client,
 * {@link EchoApp} (which tells the address it saw) in the server. Skipped (with the reason) unless root with ip,
 * iptables and setpriv.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TproxyCaptureTest {

    private final String run = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0x10000));
    private final String net = "10.252." + ThreadLocalRandom.current().nextInt(100, 200) + ".";
    private final List<Process> processes = new ArrayList<>();
    private final List<Path> logs = new ArrayList<>();
    private NetworkNamespaces namespaces;
    private DiscoveryServer discovery;
    private String client;
    private String server;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        String missing = NetworkNamespaces.missing();
        Assumptions.assumeTrue(missing == null, () -> "TPROXY capture needs root, ip, iptables and setpriv: "
                + missing);
        NetworkNamespaces.removeStale("jmtpx");
        namespaces = new NetworkNamespaces("jmtpx", run);
        String discoveryIp = net + "254";
        String hosts = "127.0.0.1 localhost " + InetAddress.getLocalHost().getHostName() + "\n" + net + "100 "
                + "reviews.default.svc.cluster.local reviews\n" + net + "101 ratings\n";
        client = namespaces.add("cl", hosts);
        server = namespaces.add("sv", hosts);
        namespaces.link(client, net + "2/24", server, net + "3/24", "eth0");
        namespaces.linkToRoot(client, net + "2", discoveryIp, "eth1");
        namespaces.linkToRoot(server, net + "3", discoveryIp, "eth1");

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
                spec: {address: %1$s3, labels: {app: reviews}}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: reviews, namespace: default}
                spec:
                  hosts: [reviews.default.svc.cluster.local]
                  http:
                  - headers: {request: {set: {x-capture-route: reviews-vs}}}
                    route: [{destination: {host: reviews.default.svc.cluster.local}}]
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: default}
                spec: {mtls: {mode: DISABLE}}
                """.formatted(net), StandardCharsets.UTF_8);
        discovery = DiscoveryServer.start(new DiscoveryOptions(config, new InetSocketAddress(discoveryIp, 0),
                new InetSocketAddress("127.0.0.1", 0), null, DiscoveryOptions.DEFAULT_DEBOUNCE));
        int xds = discovery.grpcAddress().getPort();

        start(dir, "server-app", List.of("ip", "netns", "exec", server, java(), "-Xmx32m", "-cp", testClasses(),
                EchoApp.class.getName(), "9080", "9091", "7070"));
        assertEquals(0, iptables(client, "-i", "*"));
        assertEquals(0, iptables(server, "-m", "TPROXY", "-b", "*"));
        sidecar(dir, client, net + "2", "client-v1", "client", "REDIRECT", xds);
        sidecar(dir, server, net + "3", "reviews-v1", "reviews", "TPROXY", xds);
    }

    /** {@code jmesh iptables <args>} with its commands run inside {@code ns}; the exit code. */
    private static int iptables(String ns, String... args) {
        IptablesCommand cmd = new IptablesCommand();
        cmd.runner = CommandRunner.prefixed(List.of("ip", "netns", "exec", ns));
        return new CommandLine(cmd).execute(args);
    }

    private void sidecar(Path dir, String ns, String ip, String pod, String app, String mode, int xds)
            throws IOException {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        // CAP_NET_ADMIN: the transparent listener and original_src's transparent, marked sockets (TPROXY mode, as
        // Istio's sidecar); CAP_DAC_READ_SEARCH only to read the class path under /root.
        String caps = mode.equals("TPROXY") ? "+dac_read_search,+net_admin" : "+dac_read_search";
        start(dir, pod + "-sidecar", List.of("ip", "netns", "exec", ns, "setpriv", "--reuid=1337", "--regid=1337",
                "--clear-groups", "--inh-caps=" + caps, "--ambient-caps=" + caps, java(),
                "-Xmx128m", "-XX:TieredStopAtLevel=1", "-Djava.io.tmpdir=/tmp", "-cp", cp, Main.class.getName(),
                "proxy", "--discovery-address", net + "254:" + xds,
                "--node-id", "sidecar~" + ip + "~" + pod + ".default~default.svc.cluster.local",
                "--node-metadata", "INTERCEPTION_MODE=" + mode, "--node-label", "app=" + app,
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

    /** curl in the client namespace: {@code [status, body]}; status 0 when curl could not connect. */
    private String[] curl(String url) {
        try {
            String out = NetworkNamespaces.in(client, "curl", "-sS", "-m", "10", "-w", "\n%{http_code}", url);
            int nl = out.lastIndexOf('\n');
            return new String[] {out.substring(nl + 1), out.substring(0, Math.max(nl, 0))};
        } catch (IOException e) {
            return new String[] {"0", e.getMessage()};
        }
    }

    /** Waits (the sidecars start, then follow discovery) until curl gets a 200; the last answer. */
    private String[] awaitOk(String url) throws InterruptedException {
        String[][] last = {curl(url)};
        try {
            Poll.until(() -> last[0][0].equals("200") || (pause() && (last[0] = curl(url))[0].equals("200")),
                    "200 from " + url, Duration.ofSeconds(120));
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + ": " + last[0][1] + "\n" + logs(), e);
        }
        return last[0];
    }

    private static boolean pause() {
        try {
            Thread.sleep(250);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return true;
    }

    private String stats(String ns) throws IOException {
        return NetworkNamespaces.in(ns, "curl", "-sS", "http://127.0.0.1:15000/stats");
    }

    @Test
    void aTcpConnectionReachesTheAppFromTheClientsOwnAddress() throws Exception {
        // ratings:9091 (TCP): the client's sidecar takes it (REDIRECT to 15001, listener <VIP>_9091) and connects
        // to the server pod from 10.252.N.2; the server's rules TPROXY it to virtualInbound (transparent), whose
        // original_src makes the connection to the app on 127.0.0.1 come from that same address.
        String[] r = awaitOk("http://ratings:9091/tcp");
        assertTrue(r[1].startsWith("remote=" + net + "2\nport=9091\n"), () -> r[1] + "\n" + logs());
        assertTrue(stats(server).contains("cluster.inbound|9091||.upstream_cx_total: "), () -> logs());
    }

    @Test
    void httpIsRoutedAndReachesTheAppFromTheSidecar() throws Exception {
        // HTTP 9080: routed by the VirtualService on the client's side, captured by TPROXY on the server's; HTTP
        // upstream connections are pooled across clients, so original_src does not apply: the app sees 127.0.0.1.
        String[] r = awaitOk("http://reviews.default.svc.cluster.local:9080/h");
        assertTrue(r[1].startsWith("remote=127.0.0.1\nport=9080\n"), r[1]);
        assertTrue(r[1].contains("\nx-capture-route: reviews-vs\n"), r[1]);
    }

    @Test
    void aPortOutsideTheMeshPassesThroughFrom127_0_0_6() throws Exception {
        awaitOk("http://ratings:9091/up"); // the sidecars are up
        // 7070 is no service port: the server's TPROXY chain takes it, no filter chain matches, and
        // InboundPassthroughCluster connects to the original destination from its own 127.0.0.6.
        String[] r = awaitOk("http://" + net + "3:7070/other");
        assertTrue(r[1].startsWith("remote=127.0.0.6\nport=7070\n"), r[1]);
        assertTrue(stats(server).contains("cluster.InboundPassthroughCluster.upstream_cx_total: 1\n"), () -> logs());
    }

    private String logs() {
        StringBuilder sb = new StringBuilder();
        for (Path l : logs) {
            try {
                List<String> lines = Files.exists(l) ? Files.readAllLines(l) : List.of();
                sb.append("--- ").append(l.getFileName()).append('\n');
                lines.subList(Math.max(0, lines.size() - 30), lines.size()).forEach(s -> sb.append(s).append('\n'));
            } catch (IOException e) {
                sb.append(e).append('\n');
            }
        }
        return sb.toString();
    }
}
