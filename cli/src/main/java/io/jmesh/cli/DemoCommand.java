package io.jmesh.cli;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.jmesh.cli.demo.SampleApp;
import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.xds.AdsBootstrap;
import io.jmesh.proxy.xds.ListenerBinding;
import io.netty.channel.EventLoopGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jmesh demo}: the whole mesh on one machine with nothing to set up, in one JVM. It copies the Istio YAML
 * of {@code examples/demo/} into a directory, starts {@code jmesh discovery} on it, the sample services
 * (productpage, reviews v1 and v2, ratings), each behind its own sidecar {@link ProxyServer} following discovery,
 * and an ingress gateway proxy ({@code router~} node) following it too; prints the gateway URL, what to curl and
 * how to shift traffic by editing the YAML. Ctrl-C stops everything and exits 0.
 *
 * <p>Without iptables, each workload gets its own loopback IP ({@code 127.0.0.11}, {@code 127.0.0.21}, ...):
 * it is registered under that IP by a WorkloadEntry, its sidecar binds its inbound port there
 * ({@link ListenerBinding#inboundAddress()}) and forwards to the app on {@code 127.0.0.1}.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the mesh on this machine: discovery, sample services with sidecars, an ingress gateway.")
final class DemoCommand implements Callable<Integer> {

    private static final List<String> YAML = List.of("services.yaml", "gateway.yaml", "routing.yaml",
            "peer-authentication.yaml");

    /** One sample workload: its app, loopback IP and sidecar. */
    private record Workload(String app, String version, String ip) {
        String name() {
            return app + "-" + version;
        }
    }

    private static final List<Workload> WORKLOADS = List.of(
            new Workload("productpage", "v1", "127.0.0.11"),
            new Workload("reviews", "v1", "127.0.0.21"),
            new Workload("reviews", "v2", "127.0.0.22"),
            new Workload("ratings", "v1", "127.0.0.31"));

    @Option(names = "--port", defaultValue = "0", description = "Gateway port (default: any free port).")
    int port;

    @Option(names = "--dir", paramLabel = "DIR",
            description = "Directory for the demo's Istio YAML (default: a new temporary directory). Files already "
                    + "there are kept, so edits survive a restart.")
    Path dir;

    @Option(names = "--duration", defaultValue = "0", paramLabel = "SECONDS",
            description = "Stop by itself after this many seconds (default: run until Ctrl-C).")
    long durationSeconds;

    @Override
    public Integer call() throws Exception {
        Path configDir = dir != null ? Files.createDirectories(dir) : Files.createTempDirectory("jmesh-demo-");
        for (String f : YAML) {
            Path target = configDir.resolve(f);
            if (!Files.exists(target)) {
                Files.writeString(target, resource(f), StandardCharsets.UTF_8);
            }
        }
        EventLoopGroup group = SampleApp.newGroup();
        List<SampleApp> apps = new ArrayList<>();
        List<ProxyServer> proxies = new ArrayList<>();
        DiscoveryServer discovery = null;
        try {
            StringBuilder workloads = new StringBuilder(
                    "# Written by jmesh demo: the sample workloads, at their loopback IPs (served by their sidecars).\n");
            for (Workload w : WORKLOADS) {
                SampleApp app = SampleApp.start(w.app(), w.version(), group);
                apps.add(app);
                workloads.append("""
                        apiVersion: networking.istio.io/v1
                        kind: WorkloadEntry
                        metadata: {name: %s, namespace: default}
                        spec: {address: %s, ports: {http: %d}, labels: {app: %s, version: %s}}
                        ---
                        """.formatted(w.name(), w.ip(), app.port(), w.app(), w.version()));
            }
            Path tmp = configDir.resolve(".workloads.yaml.tmp");
            Files.writeString(tmp, workloads, StandardCharsets.UTF_8);
            Files.move(tmp, configDir.resolve("workloads.yaml"), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);

            discovery = DiscoveryServer.start(new DiscoveryOptions(configDir, new InetSocketAddress("127.0.0.1", 0),
                    new InetSocketAddress("127.0.0.1", 0), null, DiscoveryOptions.DEFAULT_DEBOUNCE));
            int xds = discovery.grpcAddress().getPort();
            for (Workload w : WORKLOADS) {
                String id = "sidecar~" + w.ip() + "~" + w.name() + ".default~default.svc.cluster.local";
                proxies.add(ProxyServer.start(AdsBootstrap.forDiscovery("127.0.0.1", xds, id, Map.of(),
                        Map.of("app", w.app(), "version", w.version()), 0), 1,
                        new ListenerBinding("127.0.0.1", Map.of(), w.ip())));
            }
            ProxyServer gateway = ProxyServer.start(AdsBootstrap.forDiscovery("127.0.0.1", xds,
                    "router~127.0.0.1~istio-ingressgateway.default~default.svc.cluster.local", Map.of(),
                    Map.of("istio", "ingressgateway"), 0), 1,
                    new ListenerBinding("127.0.0.1", Map.of(8080, port)));
            proxies.add(gateway);
            String base = awaitGateway(gateway);
            if (base == null) {
                System.err.println("error: the gateway got no working config from discovery within 30 s; see the log");
                return 1;
            }
            print(base, gateway, discovery, configDir);
            CountDownLatch stop = new CountDownLatch(1);
            Signals.onTerm(stop::countDown);
            if (durationSeconds > 0) {
                stop.await(durationSeconds, TimeUnit.SECONDS);
            } else {
                stop.await();
            }
            return 0;
        } finally {
            for (int i = proxies.size() - 1; i >= 0; i--) {
                proxies.get(i).drainAndClose(500);
            }
            if (discovery != null) {
                discovery.close();
            }
            apps.forEach(SampleApp::close);
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /** Waits until the gateway has its listener and serves /productpage; returns its base URL, or null. */
    private static String awaitGateway(ProxyServer gateway) throws InterruptedException {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            InetSocketAddress a = gateway.listenerAddresses().get("0.0.0.0_8080");
            if (a != null) {
                String base = "http://127.0.0.1:" + a.getPort();
                try {
                    HttpResponse<Void> r = client.send(HttpRequest.newBuilder(URI.create(base + "/productpage"))
                            .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.discarding());
                    if (r.statusCode() == 200) {
                        return base;
                    }
                } catch (IOException e) {
                    // not yet
                }
            }
            Thread.sleep(100);
        }
        return null;
    }

    private static void print(String base, ProxyServer gateway, DiscoveryServer discovery, Path configDir) {
        System.out.println("jmesh demo is running.");
        System.out.println();
        System.out.println("  gateway:   " + base + "/productpage");
        System.out.println("  admin:     http://127.0.0.1:" + gateway.adminAddress().getPort() + "/config_dump");
        System.out.println("  discovery: xDS 127.0.0.1:" + discovery.grpcAddress().getPort() + ", http://127.0.0.1:"
                + discovery.monitoringAddress().getPort() + "/debug/syncz");
        System.out.println("  config:    " + configDir + " (Istio YAML, watched)");
        System.out.println();
        System.out.println("Try:");
        System.out.println("  curl -s " + base + "/productpage");
        System.out.println("  for i in $(seq 10); do curl -s " + base + "/reviews; done   # 80% v1, 20% v2");
        System.out.println("  curl -s -H 'end-user: jason' " + base + "/reviews            # always v2");
        System.out.println("  curl -s " + base + "/ratings");
        System.out.println();
        System.out.println("Shift traffic: edit the weights of reviews v1 and v2 in " + configDir.resolve("routing.yaml")
                + " (e.g. 0 and 100), save, and curl /reviews again.");
        System.out.println("Ctrl-C stops everything.");
        System.out.flush();
    }

    private static String resource(String name) throws IOException {
        try (InputStream in = DemoCommand.class.getResourceAsStream("demo/istio/" + name)) {
            if (in == null) {
                throw new IOException("demo/istio/" + name + " missing from the build");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
