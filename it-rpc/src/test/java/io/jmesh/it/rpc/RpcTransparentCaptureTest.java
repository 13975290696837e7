package io.jmesh.it.rpc;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.cli.Main;
import io.jmesh.cli.NetworkNamespaces;
import io.jmesh.cli.iptables.CaptureConfig;
import io.jmesh.cli.iptables.CaptureRules;
import io.jmesh.cli.iptables.CommandRunner;
import io.jmesh.cli.iptables.IptablesApplier;
import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.proxy.testing.Poll;

/**
 * Bolt and Dubbo through transparent capture, for real: three "pods", each a network namespace made by the test on one
 * subnet (a bridge in a fourth namespace): {@code client} (10.251.N.2) runs an unchanged SOFARPC consumer and an
 * unchanged Dubbo consumer ({@link CapturedRpcApps}) calling {@code bolt://reviews.default.svc.cluster.local:12200}
 * and {@code dubbo://reviews.default.svc.cluster.local:20880} (the name resolved by the namespace's
 * {@code /etc/hosts} to the service VIP, on which nothing listens); {@code v1} (.3) and {@code v2} (.4) each run an
 * unchanged provider of both. Every pod has Istio's rules from {@code jmesh iptables} (REDIRECT) and a
 * {@code jmesh proxy} sidecar as UID 1337 with {@code INTERCEPTION_MODE=REDIRECT}, following discovery (in this JVM,
 * reached over a veth of each pod). A VirtualService sends GreetingService (Dubbo) calls to subset v2 and all others
 * (Bolt's HelloService) to subset v1. Skipped (with the reason) unless root with ip, iptables and setpriv.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RpcTransparentCaptureTest {

    private static final String HOST = "reviews.default.svc.cluster.local";
    private static final String CLUSTER_SUFFIX = "|reviews.default.svc.cluster.local";

    private final String run = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000, 0x10000));
    private final String net = "10.251." + ThreadLocalRandom.current().nextInt(100, 200) + ".";
    private final List<Process> sidecars = new ArrayList<>();
    private final List<ChildJvm> apps = new ArrayList<>();
    private final List<Path> logs = new ArrayList<>();
    private NetworkNamespaces namespaces;
    private DiscoveryServer discovery;
    private String client;
    private String v1;
    private String v2;
    private ChildJvm consumer;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        String missing = NetworkNamespaces.missing();
        Assumptions.assumeTrue(missing == null, () -> "transparent capture needs root, ip, iptables and setpriv: "
                + missing);
        NetworkNamespaces.removeStale("jmrpc");
        namespaces = new NetworkNamespaces("jmrpc", run);
        String vip = net + "100";
        String discoveryIp = net + "254";
        // The machine's own name too: Java asks for it (InetAddress.getLocalHost), and a pod has no DNS server.
        String hosts = "127.0.0.1 localhost " + InetAddress.getLocalHost().getHostName() + "\n" + vip + " " + HOST
                + " reviews\n";
        String sw = namespaces.addSwitch("sw");
        client = namespaces.add("cl", hosts);
        v1 = namespaces.add("v1", hosts);
        v2 = namespaces.add("v2", hosts);
        String[] pods = {client, v1, v2};
        for (int i = 0; i < pods.length; i++) {
            namespaces.plug(pods[i], net + (i + 2) + "/24", sw, "eth0");
            namespaces.linkToRoot(pods[i], net + (i + 2), discoveryIp, "eth1");
        }

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
                  ports:
                  - {number: 12200, name: bolt, protocol: BOLT}
                  - {number: 20880, name: dubbo, protocol: DUBBO}
                  workloadSelector: {labels: {app: reviews}}
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: reviews-v1, namespace: default}
                spec: {address: %1$s3, labels: {app: reviews, version: v1}}
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: reviews-v2, namespace: default}
                spec: {address: %1$s4, labels: {app: reviews, version: v2}}
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: default}
                spec:
                  host: reviews.default.svc.cluster.local
                  trafficPolicy: {tls: {mode: DISABLE}}
                  subsets:
                  - {name: v1, labels: {version: v1}}
                  - {name: v2, labels: {version: v2}}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: reviews, namespace: default}
                spec:
                  hosts: [reviews.default.svc.cluster.local]
                  http:
                  - match: [{uri: {prefix: /io.jmesh.it.rpc.GreetingService/}}]
                    route: [{destination: {host: reviews.default.svc.cluster.local, subset: v2}}]
                  - route: [{destination: {host: reviews.default.svc.cluster.local, subset: v1}}]
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: default}
                spec: {mtls: {mode: DISABLE}}
                """.formatted(net), UTF_8);
        discovery = DiscoveryServer.start(new DiscoveryOptions(config, new InetSocketAddress(discoveryIp, 0),
                new InetSocketAddress("127.0.0.1", 0), null, DiscoveryOptions.DEFAULT_DEBOUNCE));
        int xds = discovery.grpcAddress().getPort();

        // Istio's rules in each pod, as its injector writes them: every outbound destination, every inbound port;
        // UID 1337 excluded.
        for (String pod : pods) {
            apply(pod);
        }
        sidecar(dir, client, net + "2", "client-v1", "client", xds);
        sidecar(dir, v1, net + "3", "reviews-v1", "reviews", xds);
        sidecar(dir, v2, net + "4", "reviews-v2", "reviews", xds);
        // Both providers at once (each start waits for its app to serve).
        CompletableFuture<ChildJvm> provider2 = CompletableFuture.supplyAsync(() -> provider(v2, "reviews-v2"));
        apps.add(provider(v1, "reviews-v1"));
        apps.add(provider2.join());
        // The consumers connect when they start: once the client's sidecar has the listeners of the VIP's ports.
        try {
            Poll.until(() -> throttled() && adminGet(client, "/config_dump").contains("\"" + vip + "_20880\"")
                    && adminGet(client, "/config_dump").contains("\"" + vip + "_12200\"")
                    && adminGet(v1, "/ready").contains("LIVE") && adminGet(v2, "/ready").contains("LIVE"),
                    "the sidecars follow discovery", Duration.ofSeconds(90));
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n" + logsOrError(), e);
        }
        consumer = ChildJvm.start("client-app", netns(client), CapturedRpcApps.class, false, "consumer", HOST);
        apps.add(consumer);
    }

    private static ChildJvm provider(String ns, String application) {
        try {
            return ChildJvm.start(application + "-app", netns(ns), CapturedRpcApps.class, false, "provider",
                    application);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<String> netns(String ns) {
        return List.of("ip", "netns", "exec", ns);
    }

    private static void apply(String ns) throws IOException {
        CaptureConfig d = CaptureConfig.defaults();
        CaptureConfig c = new CaptureConfig(d.proxyPort(), d.inboundCapturePort(), d.inboundTunnelPort(),
                d.proxyUids(), d.proxyGids(), CaptureConfig.Mode.REDIRECT, CaptureConfig.split("*"),
                List.of(), CaptureConfig.split("*"), List.of(), List.of(), List.of(), List.of(), List.of(),
                d.tproxyMark(), d.tproxyRouteTable(), List.of(), List.of());
        new IptablesApplier(CommandRunner.prefixed(netns(ns))).apply(CaptureRules.of(c));
    }

    private void sidecar(Path dir, String ns, String ip, String pod, String app, int xds) throws IOException {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(netns(ns));
        cmd.addAll(List.of("setpriv", "--reuid=1337", "--regid=1337", "--clear-groups",
                "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m", "-XX:TieredStopAtLevel=1", "-Djava.io.tmpdir=/tmp", "-cp", cp, Main.class.getName(),
                "proxy", "--discovery-address", net + "254:" + xds,
                "--node-id", RpcMesh.nodeId(pod, ip),
                "--node-metadata", "INTERCEPTION_MODE=REDIRECT", "--node-label", "app=" + app,
                "--admin-port", "15000", "--prometheus-port", "-1", "--status-port", "-1", "--concurrency", "1",
                "--drain-time", "0"));
        Path log = dir.resolve(pod + "-sidecar.log");
        logs.add(log);
        sidecars.add(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start());
    }

    @AfterAll
    void stop() throws Exception {
        for (ChildJvm app : apps) {
            app.close();
        }
        for (Process p : sidecars) {
            p.destroy();
        }
        for (Process p : sidecars) {
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

    /** Waits 200 ms and returns true: a poll of other processes not run back to back. */
    private static boolean throttled() {
        try {
            Thread.sleep(200);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return true;
    }

    /** The body of {@code http://127.0.0.1:15000<path>} (the sidecar's admin) in a namespace; "" when unreachable. */
    private static String adminGet(String ns, String path) {
        try {
            return NetworkNamespaces.in(ns, "curl", "-sS", "-m", "5", "http://127.0.0.1:15000" + path);
        } catch (IOException e) {
            return "";
        }
    }

    /** The value of the counter {@code name} in a sidecar's {@code /stats}; 0 when absent. */
    private static long counter(String ns, String name) {
        for (String line : adminGet(ns, "/stats").split("\n")) {
            if (line.startsWith(name + ": ")) {
                return Long.parseLong(line.substring(name.length() + 2).strip());
            }
        }
        return 0;
    }

    /** Asks the consumer for one call until it succeeds (the first connection may race the sidecars); the answer. */
    private String firstCall(String protocol) throws Exception {
        String[] last = {""};
        Poll.until(() -> {
            try {
                last[0] = consumer.ask(protocol + " warmup");
            } catch (Exception e) {
                last[0] = e.toString();
            }
            return last[0].startsWith("ok ");
        }, "a " + protocol + " call through both sidecars", Duration.ofSeconds(60));
        return last[0];
    }

    @Test
    void boltCallsAreCapturedRoutedBySubsetAndReceivedThroughTheProvidersInbound() throws Exception {
        firstCall("bolt");
        long out0 = counter(client, "cluster.outbound|12200|v1" + CLUSTER_SUFFIX + ".upstream_rq_total");
        long in0 = counter(v1, "rpc.inbound_0.0.0.0_12200.request_total");
        for (int i = 0; i < 5; i++) {
            // HelloService matches no rule but the last: subset v1, whatever the round robin would pick.
            assertEquals("ok reviews-v1 n" + i + " x1", consumer.ask("bolt n" + i), this::logsOrError);
        }
        assertEquals(5, counter(client, "cluster.outbound|12200|v1" + CLUSTER_SUFFIX + ".upstream_rq_total") - out0,
                () -> adminGet(client, "/stats"));
        assertEquals(5, counter(v1, "rpc.inbound_0.0.0.0_12200.request_total") - in0, () -> adminGet(v1, "/stats"));
        assertEquals(0, counter(v2, "rpc.inbound_0.0.0.0_12200.request_total"), () -> adminGet(v2, "/stats"));
    }

    @Test
    void dubboCallsAreCapturedRoutedBySubsetAndReceivedThroughTheProvidersInbound() throws Exception {
        firstCall("dubbo");
        long out0 = counter(client, "cluster.outbound|20880|v2" + CLUSTER_SUFFIX + ".upstream_rq_total");
        long in0 = counter(v2, "rpc.inbound_0.0.0.0_20880.request_total");
        for (int i = 0; i < 5; i++) {
            // GreetingService's path matches the first rule: subset v2.
            assertEquals("ok reviews-v2 n" + i, consumer.ask("dubbo n" + i), this::logsOrError);
        }
        assertEquals(5, counter(client, "cluster.outbound|20880|v2" + CLUSTER_SUFFIX + ".upstream_rq_total") - out0,
                () -> adminGet(client, "/stats"));
        assertEquals(5, counter(v2, "rpc.inbound_0.0.0.0_20880.request_total") - in0, () -> adminGet(v2, "/stats"));
        assertEquals(0, counter(v1, "rpc.inbound_0.0.0.0_20880.request_total"), () -> adminGet(v1, "/stats"));
    }

    private String logsOrError() {
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
