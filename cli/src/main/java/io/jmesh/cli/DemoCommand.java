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
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import io.jmesh.cli.demo.DubboSampleApp;
import io.jmesh.cli.demo.SampleApp;
import io.jmesh.cli.demo.TrafficLine;
import io.jmesh.discovery.CaOptions;
import io.jmesh.security.agent.AgentOptions;
import io.jmesh.security.agent.AgentScheduler;
import io.jmesh.security.agent.IstioCaClient;
import io.jmesh.security.agent.NodeAgent;
import io.jmesh.security.ca.CaRoots;
import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.proxy.admin.MergedMetricsServer;
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
 * and an ingress gateway proxy ({@code router~} node) following it too; prints the gateway URL, what to curl, how
 * to shift traffic by editing the YAML, each proxy's Prometheus endpoint (a {@link MergedMetricsServer}, Istio's
 * status port) and Istio's dashboard queries. Ctrl-C stops everything and exits 0.
 *
 * <p>The services call each other as Bookinfo's do (productpage calls reviews, reviews v2 calls ratings), each
 * through its own sidecar's outbound listener, so the metrics show a call graph; productpage also calls details,
 * a Dubbo provider ({@link DubboSampleApp}), through its sidecar's Dubbo listener, so the RPC metrics exist too.
 *
 * <p>Without iptables, each workload gets its own loopback IP ({@code 127.0.0.11}, {@code 127.0.0.21}, ...):
 * it is registered under that IP by a WorkloadEntry, its sidecar binds its inbound port there
 * ({@link ListenerBinding#inboundAddress()}) and forwards to the app on {@code 127.0.0.1}.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the mesh on this machine: discovery, sample services with sidecars, an ingress gateway.")
final class DemoCommand implements Callable<Integer> {

    private static final List<String> YAML = List.of("services.yaml", "gateway.yaml", "routing.yaml", "security.yaml");

    /** The gateway's node id; its identity is {@code spiffe://cluster.local/ns/default/sa/istio-ingressgateway}. */
    private static final String GATEWAY_ID = "router~127.0.0.1~istio-ingressgateway.default~default.svc.cluster.local";

    /**
     * One sample workload: its app, loopback IP and the services it calls per request through its sidecar (as in
     * Bookinfo: productpage calls reviews, reviews v2 calls ratings).
     */
    private record Workload(String app, String version, String ip, List<String> calls, boolean dubbo) {
        Workload(String app, String version, String ip, List<String> calls) {
            this(app, version, ip, calls, false);
        }

        String name() {
            return app + "-" + version;
        }

        /** The workload's service account, as Bookinfo's: {@code bookinfo-<app>}. */
        String serviceAccount() {
            return "bookinfo-" + app;
        }
    }

    private static final List<Workload> WORKLOADS = List.of(
            new Workload("productpage", "v1", "127.0.0.11", List.of("reviews", SampleApp.DUBBO + "details")),
            new Workload("reviews", "v1", "127.0.0.21", List.of()),
            new Workload("reviews", "v2", "127.0.0.22", List.of("ratings")),
            new Workload("ratings", "v1", "127.0.0.31", List.of()),
            new Workload("details", "v1", "127.0.0.41", List.of(), true));

    /**
     * How long the demo waits for the gateway and the sidecars to get a working config from discovery before it
     * gives up; generous, as a busy machine starts a dozen components slowly.
     */
    private static final long START_TIMEOUT_SECONDS = 60;

    /** The gateway's workload name (node metadata {@code WORKLOAD_NAME}), as Istio's ingress gateway Deployment. */
    private static final String GATEWAY_WORKLOAD = "istio-ingressgateway";

    @Option(names = "--port", defaultValue = "0", description = "Gateway port (default: any free port).")
    int port;

    @Option(names = "--dir", paramLabel = "DIR",
            description = "Directory for the demo's Istio YAML (default: a new temporary directory). Files already "
                    + "there are kept, so edits survive a restart.")
    Path dir;

    @Option(names = "--verbose", description = "Log every subsystem to the terminal (default: to a file the banner names).")
    boolean verbose;

    @Option(names = "--duration", defaultValue = "0", paramLabel = "SECONDS",
            description = "Stop by itself after this many seconds (default: run until Ctrl-C).")
    long durationSeconds;

    @Option(names = "--prometheus-config", paramLabel = "FILE",
            description = "Write a prometheus.yml that scrapes every sidecar's and the gateway's merged metrics "
                    + "endpoint (Istio's 15020 /stats/prometheus), for `prometheus --config.file=FILE`.")
    Path prometheusConfig;

    @Option(names = "--scrape-interval", defaultValue = "5s", paramLabel = "DURATION",
            description = "The scrape_interval of the --prometheus-config file (default: ${DEFAULT-VALUE}).")
    String scrapeInterval;

    @Override
    public Integer call() throws Exception {
        // Subsystem logs go to a file unless --verbose; set before the first logger is made (SLF4J simple reads
        // its settings once).
        Path logFile = null;
        if (!verbose && System.getProperty("org.slf4j.simpleLogger.logFile") == null) {
            logFile = Files.createTempFile("jmesh-demo-", ".log");
            System.setProperty("org.slf4j.simpleLogger.logFile", logFile.toString());
        }
        Path configDir = dir != null ? Files.createDirectories(dir) : Files.createTempDirectory("jmesh-demo-");
        for (String f : YAML) {
            Path target = configDir.resolve(f);
            if (!Files.exists(target)) {
                Files.writeString(target, resource(f), StandardCharsets.UTF_8);
            }
        }
        EventLoopGroup group = SampleApp.newGroup();
        List<SampleApp> apps = new ArrayList<>(); // null for a Dubbo workload
        List<DubboSampleApp> dubboApps = new ArrayList<>();
        List<ProxyServer> proxies = new ArrayList<>();
        List<NodeAgent> agents = new ArrayList<>();
        DiscoveryServer discovery = null;
        List<ScrapeTarget> targets = new ArrayList<>();
        // The CA's root and key, the workloads' tokens and SDS sockets: outside the watched config directory.
        Path state = Files.createTempDirectory("jmesh-demo-state-");
        try {
            Map<String, Path> tokens = writeTokens(state);
            StringBuilder workloads = new StringBuilder(
                    "# Written by jmesh demo: the sample workloads, at their loopback IPs (served by their sidecars).\n");
            for (Workload w : WORKLOADS) {
                int appPort;
                if (w.dubbo()) {
                    DubboSampleApp app = DubboSampleApp.start(w.app(), w.version(), group);
                    dubboApps.add(app);
                    apps.add(null);
                    appPort = app.port();
                } else {
                    SampleApp app = SampleApp.start(w.app(), w.version(), w.calls(), group);
                    apps.add(app);
                    appPort = app.port();
                }
                workloads.append("""
                        apiVersion: networking.istio.io/v1
                        kind: WorkloadEntry
                        metadata: {name: %s, namespace: default}
                        spec:
                          address: %s
                          ports: {%s: %d}
                          serviceAccount: %s
                          labels: {app: %s, version: %s, security.istio.io/tlsMode: istio}
                        ---
                        """.formatted(w.name(), w.ip(), w.dubbo() ? "dubbo" : "http", appPort, w.serviceAccount(),
                        w.app(), w.version()));
            }
            Path tmp = configDir.resolve(".workloads.yaml.tmp");
            Files.writeString(tmp, workloads, StandardCharsets.UTF_8);
            Files.move(tmp, configDir.resolve("workloads.yaml"), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);

            Path caDir = Files.createDirectories(state.resolve("ca"));
            discovery = DiscoveryServer.start(new DiscoveryOptions(configDir, new InetSocketAddress("127.0.0.1", 0),
                    new InetSocketAddress("127.0.0.1", 0), null, DiscoveryOptions.DEFAULT_DEBOUNCE)
                    .withCa(CaOptions.of(new InetSocketAddress("127.0.0.1", 0), caDir, state.resolve("tokens.yaml"))));
            int xds = discovery.grpcAddress().getPort();
            String ca = "127.0.0.1:" + discovery.secureGrpcAddress().getPort();
            Path root = caDir.resolve(CaRoots.ROOT_CERT);
            for (int i = 0; i < WORKLOADS.size(); i++) {
                Workload w = WORKLOADS.get(i);
                String id = "sidecar~" + w.ip() + "~" + w.name() + ".default~default.svc.cluster.local";
                NodeAgent agent = startAgent(w.serviceAccount(), ca, root, tokens.get(w.serviceAccount()), state);
                agents.add(agent);
                // The outbound listener of the services' port (0.0.0.0_9080, not bound in a pod: iptables sends the
                // app's calls to 15001) is bound on 127.0.0.1 at any free port; the app calls through it.
                ProxyServer sidecar = ProxyServer.start(AdsBootstrap.withSdsCluster(AdsBootstrap.forDiscovery(
                        "127.0.0.1", xds, id, Map.of("WORKLOAD_NAME", w.name()),
                        Map.of("app", w.app(), "version", w.version(), // and the labels Istio's injector adds
                                "service.istio.io/canonical-name", w.app(),
                                "service.istio.io/canonical-revision", w.version()), 0, 0), agent.sds().socket()), 1,
                        new ListenerBinding("127.0.0.1", Map.of(SampleApp.SERVICE_PORT, 0, DubboSampleApp.SERVICE_PORT, 0),
                                w.ip()));
                proxies.add(sidecar);
                targets.add(new ScrapeTarget(w.name(), w.app(), w.version(), MergedMetricsServer.start(
                        new InetSocketAddress(w.ip(), 0), sidecar.stats(), null, group)));
            }
            NodeAgent gatewayAgent = startAgent("istio-ingressgateway", ca, root, tokens.get("istio-ingressgateway"),
                    state);
            agents.add(gatewayAgent);
            ProxyServer gateway = ProxyServer.start(AdsBootstrap.withSdsCluster(AdsBootstrap.forDiscovery("127.0.0.1",
                    xds, GATEWAY_ID, Map.of("WORKLOAD_NAME", GATEWAY_WORKLOAD), Map.of("istio", "ingressgateway"),
                    0, 0), gatewayAgent.sds().socket()), 1, new ListenerBinding("127.0.0.1", Map.of(8080, port)));
            proxies.add(gateway);
            targets.add(new ScrapeTarget(GATEWAY_WORKLOAD, GATEWAY_WORKLOAD, "", MergedMetricsServer.start(
                    new InetSocketAddress("127.0.0.1", 0), gateway.stats(), null, group)));
            String base = awaitGateway(gateway);
            if (base == null || !awaitOutbound(apps, proxies)) {
                System.err.println("error: the gateway or a sidecar got no working config from discovery within "
                        + START_TIMEOUT_SECONDS + " s;"
                        + " see the log");
                return 1;
            }
            if (prometheusConfig != null) {
                writePrometheusConfig(prometheusConfig, scrapeInterval, targets);
            }
            print(base, gateway, discovery, configDir, logFile, targets, prometheusConfig);
            TrafficLine traffic = new TrafficLine("gateway", gateway.stats());
            ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "jmesh-demo-traffic");
                t.setDaemon(true);
                return t;
            });
            ticker.scheduleAtFixedRate(() -> {
                String line = traffic.next();
                if (line != null) {
                    System.out.println(line);
                }
            }, 1, 1, TimeUnit.SECONDS);
            CountDownLatch stop = new CountDownLatch(1);
            Signals.onTerm(stop::countDown);
            if (durationSeconds > 0) {
                stop.await(durationSeconds, TimeUnit.SECONDS);
            } else {
                stop.await();
            }
            ticker.shutdownNow();
            return 0;
        } finally {
            targets.forEach(t -> t.server().close());
            for (int i = proxies.size() - 1; i >= 0; i--) {
                proxies.get(i).drainAndClose(500);
            }
            agents.forEach(NodeAgent::close);
            if (discovery != null) {
                discovery.close();
            }
            deleteTree(state);
            apps.stream().filter(Objects::nonNull).forEach(SampleApp::close);
            dubboApps.forEach(DubboSampleApp::close);
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /**
     * One bearer token per identity of the demo (each workload's service account and the gateway's), in the CA's
     * tokens file {@code tokens.yaml} and one token file per identity, as a workload would hold it. Returns the
     * token file of each service account.
     */
    private static Map<String, Path> writeTokens(Path state) throws IOException {
        java.security.SecureRandom random = new java.security.SecureRandom();
        StringBuilder yaml = new StringBuilder("tokens:\n");
        Map<String, Path> files = new java.util.LinkedHashMap<>();
        List<String> accounts = new ArrayList<>();
        for (Workload w : WORKLOADS) {
            if (!accounts.contains(w.serviceAccount())) {
                accounts.add(w.serviceAccount());
            }
        }
        accounts.add("istio-ingressgateway");
        for (String sa : accounts) {
            byte[] bytes = new byte[24];
            random.nextBytes(bytes);
            String token = java.util.HexFormat.of().formatHex(bytes);
            yaml.append("- {token: ").append(token).append(", namespace: default, serviceAccount: ").append(sa)
                    .append("}\n");
            Path file = state.resolve(sa + ".token");
            Files.writeString(file, token);
            files.put(sa, file);
        }
        Files.writeString(state.resolve("tokens.yaml"), yaml);
        return files;
    }

    /** The node agent of one identity: its own key, a certificate from the demo's CA, SDS on its own socket. */
    private static NodeAgent startAgent(String serviceAccount, String ca, Path root, Path tokenFile, Path state)
            throws IOException {
        AgentOptions options = AgentOptions.builder().trustDomain("cluster.local").namespace("default")
                .serviceAccount(serviceAccount).build();
        return NodeAgent.start(options, IstioCaClient.create(ca, root, tokenFile),
                state.resolve(serviceAccount + ".sds"), AgentScheduler.system());
    }

    private static void deleteTree(Path dir) {
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary directory left behind
        }
    }

    /** One Prometheus scrape target: a proxy's merged metrics endpoint and the workload it serves. */
    private record ScrapeTarget(String workload, String app, String version, MergedMetricsServer server) {
        String address() {
            InetSocketAddress a = server.localAddress();
            return a.getAddress().getHostAddress() + ":" + a.getPort();
        }
    }

    /**
     * Writes a prometheus.yml (through a temporary file and a rename) with one job, {@code envoy-stats}, scraping
     * {@code /stats/prometheus} of each target, labelled as Istio's Kubernetes scrape labels a pod: {@code pod},
     * {@code namespace}, {@code app}, {@code version}.
     */
    private static void writePrometheusConfig(Path file, String interval, List<ScrapeTarget> targets)
            throws IOException {
        StringBuilder y = new StringBuilder("""
                # Written by jmesh demo: scrapes the merged metrics endpoint (Istio's status port 15020) of every
                # sidecar and of the ingress gateway. Run: prometheus --config.file=%s
                global:
                  scrape_interval: %s
                  evaluation_interval: %s
                scrape_configs:
                - job_name: envoy-stats
                  metrics_path: /stats/prometheus
                  static_configs:
                """.formatted(file.toAbsolutePath(), interval, interval));
        for (ScrapeTarget t : targets) {
            y.append("  - targets: ['").append(t.address()).append("']\n")
                    .append("    labels: {pod: ").append(t.workload()).append(", namespace: default, app: ")
                    .append(t.app()).append(t.version().isEmpty() ? "" : ", version: " + t.version()).append("}\n");
        }
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.writeString(tmp, y, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Waits until each sidecar of a workload that calls others has bound its outbound listener of the services'
     * port, and points the app at it; false after {@link #START_TIMEOUT_SECONDS}.
     */
    private static boolean awaitOutbound(List<SampleApp> apps, List<ProxyServer> sidecars) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_TIMEOUT_SECONDS);
        for (int i = 0; i < apps.size(); i++) {
            SampleApp app = apps.get(i);
            if (app == null || app.calls().isEmpty()) {
                continue;
            }
            InetSocketAddress a;
            while ((a = sidecars.get(i).listenerAddresses().get("0.0.0.0_" + SampleApp.SERVICE_PORT)) == null) {
                if (System.nanoTime() > deadline) {
                    return false;
                }
                Thread.sleep(50);
            }
            app.outbound(new InetSocketAddress("127.0.0.1", a.getPort()));
            if (app.calls().stream().anyMatch(c -> c.startsWith(SampleApp.DUBBO))) {
                while ((a = sidecars.get(i).listenerAddresses().get("0.0.0.0_" + DubboSampleApp.SERVICE_PORT))
                        == null) {
                    if (System.nanoTime() > deadline) {
                        return false;
                    }
                    Thread.sleep(50);
                }
                app.dubboOutbound(new InetSocketAddress("127.0.0.1", a.getPort()));
            }
        }
        return true;
    }

    /** Waits until the gateway has its listener and serves /productpage; returns its base URL, or null. */
    private static String awaitGateway(ProxyServer gateway) throws InterruptedException {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_TIMEOUT_SECONDS);
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

    private static void print(String base, ProxyServer gateway, DiscoveryServer discovery, Path configDir,
                              Path logFile, List<ScrapeTarget> targets, Path prometheusConfig) {
        System.out.println("jmesh demo is running.");
        System.out.println();
        System.out.println("  gateway:   " + base + "/productpage");
        System.out.println("  admin:     http://127.0.0.1:" + gateway.adminAddress().getPort() + "/config_dump");
        System.out.println("  discovery: xDS 127.0.0.1:" + discovery.grpcAddress().getPort() + ", http://127.0.0.1:"
                + discovery.monitoringAddress().getPort() + "/ (its debug pages)");
        System.out.println("  dashboard: http://127.0.0.1:" + discovery.monitoringAddress().getPort()
                + "/dashboard (the mesh as a live page)");
        System.out.println("  config:    " + configDir + " (Istio YAML, watched)");
        System.out.println("  logs:      " + (logFile != null ? logFile : "this terminal"));
        System.out.println("  mTLS:      STRICT between all sidecars and the gateway (security.yaml); each response's"
                + " \"caller\" is the SPIFFE identity its sidecar verified");
        System.out.println();
        System.out.println("Try:");
        System.out.println("  curl -s " + base + "/productpage");
        System.out.println("  for i in $(seq 10); do curl -s " + base + "/reviews; done   # 80% v1, 20% v2");
        System.out.println("  curl -s -H 'end-user: jason' " + base + "/reviews            # always v2");
        System.out.println("  curl -s " + base + "/ratings");
        System.out.println();
        System.out.println("Call graph: gateway -> productpage -> reviews (v1, v2); reviews v2 -> ratings;"
                + " productpage -> details over Dubbo (" + DubboSampleApp.INTERFACE + ", port "
                + DubboSampleApp.SERVICE_PORT + "); each call through the caller's sidecar, with mTLS.");
        System.out.println("Metrics (Istio's standard metrics, Prometheus text; Istio's status port 15020):");
        for (ScrapeTarget t : targets) {
            System.out.println("  " + t.workload() + ": http://" + t.address() + "/stats/prometheus");
        }
        if (prometheusConfig != null) {
            System.out.println("  prometheus: prometheus --config.file=" + prometheusConfig.toAbsolutePath()
                    + " --storage.tsdb.path=$(mktemp -d)");
        } else {
            System.out.println("  prometheus: rerun with --prometheus-config prometheus.yml to get a scrape config");
        }
        System.out.println("  PromQL, as Istio's dashboards:");
        System.out.println("    sum(rate(istio_requests_total{reporter=\"destination\"}[1m])) by (source_workload,"
                + " destination_service)");
        System.out.println("    sum(rate(istio_requests_total{reporter=\"destination\",response_code!~\"5.*\"}[1m]))"
                + " by (destination_service) / sum(rate(istio_requests_total{reporter=\"destination\"}[1m]))"
                + " by (destination_service)");
        System.out.println("    histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket"
                + "{reporter=\"destination\"}[1m])) by (le, destination_service))");
        System.out.println("  PromQL for the RPC calls (productpage -> details over Dubbo; a Dubbo OK counts as response_code"
                + " 200):");
        System.out.println("    sum(rate(istio_requests_total{reporter=\"destination\",request_protocol=\"dubbo\"}[1m]))"
                + " by (source_workload, destination_workload, response_code)");
        System.out.println();
        System.out.println("Shift traffic: edit the weights of reviews v1 and v2 in " + configDir.resolve("routing.yaml")
                + " (e.g. 0 and 100), save, and curl /reviews again.");
        System.out.println("Ctrl-C stops everything. Each second with traffic through the gateway prints a line:");
        System.out.println("  time  gateway  requests/s  success rate (not 5xx)  p99 latency");
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
