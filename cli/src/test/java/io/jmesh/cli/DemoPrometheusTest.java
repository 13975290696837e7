package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Prometheus (Debian's {@code prometheus}, {@code /usr/bin/prometheus}) scrapes {@code jmesh demo}'s sidecars
 * and gateway with the config {@code jmesh demo --prometheus-config} writes, while traffic goes through the gateway,
 * and answers the queries of Istio's dashboards over its HTTP API ({@code /api/v1/query}): request rate per edge
 * of the call graph (gateway -> productpage -> reviews v1 and v2, reviews v2 -> ratings), success rate, and p99
 * from {@code histogram_quantile}, for the HTTP calls ({@code request_protocol="http"}) and for the Dubbo calls of
 * productpage to details ({@code request_protocol="dubbo"}).
 *
 * <p>Prometheus listens on {@code 127.0.0.1:0}; its bound port is read from its log line
 * {@code msg="Listening on" address=127.0.0.1:PORT}.
 */
class DemoPrometheusTest {

    private static final String PROMETHEUS = "/usr/bin/prometheus";

    @TempDir
    Path dir;

    /** The last query and its answer, for the message of a wait that fails. */
    private volatile String lastSeen = "";

    @Test
    void prometheusAnswersIstioDashboardQueriesOnTheDemo() throws Exception {
        Path config = dir.resolve("prometheus.yml");
        Process demo = JmeshProcess.builder("-Xmx256m", "demo", "--duration", "180", "--dir",
                dir.resolve("istio").toString(), "--prometheus-config", config.toString(), "--scrape-interval", "1s")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        Process prometheus = null;
        AtomicBoolean driving = new AtomicBoolean(true);
        CompletableFuture<Void> traffic = null;
        try {
            StringBuilder seen = new StringBuilder();
            BufferedReader demoOut = new BufferedReader(new InputStreamReader(demo.getInputStream(), StandardCharsets.UTF_8));
            String gateway = JmeshProcess.await(demoOut, Pattern.compile("gateway: +(http://127\\.0\\.0\\.1:\\d+)/productpage"),
                    seen);
            JmeshProcess.await(demoOut, Pattern.compile("(prometheus: prometheus --config\\.file=)"), seen);
            drain(demoOut);
            String yml = Files.readString(config);
            assertTrue(yml.contains("scrape_interval: 1s") && yml.contains("pod: productpage-v1")
                    && yml.contains("pod: istio-ingressgateway"), yml);

            Path data = Files.createDirectories(dir.resolve("tsdb"));
            prometheus = new ProcessBuilder(PROMETHEUS, "--config.file=" + config, "--storage.tsdb.path=" + data,
                    "--web.listen-address=127.0.0.1:0").redirectErrorStream(true).start();
            StringBuilder promLog = new StringBuilder();
            BufferedReader promOut = new BufferedReader(new InputStreamReader(prometheus.getInputStream(),
                    StandardCharsets.UTF_8));
            String api = "http://" + JmeshProcess.await(promOut,
                    Pattern.compile("msg=\"Listening on\" address=(127\\.0\\.0\\.1:\\d+)"), promLog);
            drain(promOut);

            HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            // Prometheus listens before its storage is open and answers queries 503 until then: wait for /-/ready
            // (200 once it serves queries, as its docs say).
            waitFor(Duration.ofSeconds(60), () -> {
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(api + "/-/ready"))
                        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                lastSeen = "/-/ready: " + r.statusCode() + " " + r.body();
                return r.statusCode() == 200 ? Boolean.TRUE : null;
            });
            traffic = CompletableFuture.runAsync(() -> {
                while (driving.get()) {
                    try {
                        client.send(HttpRequest.newBuilder(URI.create(gateway + "/productpage"))
                                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.discarding());
                        Thread.sleep(20);
                    } catch (IOException e) {
                        // the demo is stopping; the assertions below say what was missing
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });

            // Every target is up (the scrape of each proxy's merged metrics endpoint works).
            // A scrape may time out (scrape_timeout is the 1 s interval) while the machine is busy: wait for all, and
            // say each target's lastError (Prometheus's /api/v1/targets) if they never are.
            Map<String, Double> up = waitFor(Duration.ofSeconds(60), () -> {
                Map<String, Double> r = query(client, api, "up", "pod");
                if (r.size() == 6 && r.values().stream().allMatch(v -> v == 1.0)) {
                    return r;
                }
                lastSeen = "up: " + r + "; targets: " + client.send(HttpRequest.newBuilder(URI.create(api
                        + "/api/v1/targets")).timeout(Duration.ofSeconds(10)).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                return null;
            });
            assertEquals(Map.of("productpage-v1", 1.0, "reviews-v1", 1.0, "reviews-v2", 1.0, "ratings-v1", 1.0,
                    "details-v1", 1.0, "istio-ingressgateway", 1.0), up);

            // Request rate per edge, as the destinations report it (Istio's workload and Kiali's graph queries).
            String rate = "sum(rate(istio_requests_total{reporter=\"destination\",request_protocol=\"http\"}[1m]))"
                    + " by (source_workload, destination_workload)";
            Map<String, Double> edges = waitFor(Duration.ofSeconds(60), () -> {
                Map<String, Double> r = query(client, api, rate, "source_workload", "destination_workload");
                return r.size() >= 4 && r.values().stream().allMatch(v -> v > 0) ? r : null;
            });
            assertEquals(java.util.Set.of("istio-ingressgateway -> productpage-v1", "productpage-v1 -> reviews-v1",
                    "productpage-v1 -> reviews-v2", "reviews-v2 -> ratings-v1"), edges.keySet(), edges.toString());

            // Request rate by destination service as the callers report it (Istio's mesh dashboard): the callers'
            // sidecars name the service from the cluster they sent to.
            Map<String, Double> services = waitFor(Duration.ofSeconds(30), () -> {
                Map<String, Double> r = query(client, api, "sum(rate(istio_requests_total{reporter=\"source\"}[1m]))"
                        + " by (destination_service)", "destination_service");
                return r.size() >= 4 ? r : null;
            });
            assertEquals(java.util.Set.of("productpage.default.svc.cluster.local", "reviews.default.svc.cluster.local",
                    "ratings.default.svc.cluster.local", "details.default.svc.cluster.local"), services.keySet(),
                    services.toString());

            // Success rate (not 5xx) per destination workload: every call of the demo succeeds.
            Map<String, Double> success = query(client, api,
                    "sum(rate(istio_requests_total{reporter=\"destination\",response_code!~\"5.*\"}[1m]))"
                            + " by (destination_workload) / sum(rate(istio_requests_total{reporter=\"destination\"}[1m]))"
                            + " by (destination_workload)", "destination_workload");
            assertEquals(Map.of("productpage-v1", 1.0, "reviews-v1", 1.0, "reviews-v2", 1.0, "ratings-v1", 1.0,
                    "details-v1", 1.0), success);

            // p99 latency per destination service from the duration histogram's buckets.
            Map<String, Double> p99 = query(client, api, "histogram_quantile(0.99, sum(rate("
                    + "istio_request_duration_milliseconds_bucket{reporter=\"source\"}[1m])) by (le, destination_service))",
                    "destination_service");
            assertEquals(services.keySet(), p99.keySet(), p99.toString());
            for (Map.Entry<String, Double> e : p99.entrySet()) {
                assertTrue(e.getValue() > 0 && e.getValue() <= 60_000, "p99 of " + e.getKey() + ": " + e.getValue());
            }

            // The RPC calls (productpage -> details over Dubbo), as a user asks for them: by protocol, response code
            // and workloads. The destination's sidecar names both workloads (the caller's travels in the request's
            // attachments); the caller's names the service from its cluster; a Dubbo OK counts as 200.
            Map<String, Double> rpcEdges = waitFor(Duration.ofSeconds(30), () -> {
                Map<String, Double> r = query(client, api, "sum(rate(istio_requests_total{reporter=\"destination\","
                        + "request_protocol=\"dubbo\"}[1m])) by (source_workload, destination_workload, response_code)",
                        "source_workload", "destination_workload", "response_code");
                return r.isEmpty() ? null : r;
            });
            assertEquals(java.util.Set.of("productpage-v1 -> details-v1 -> 200"), rpcEdges.keySet(), rpcEdges.toString());
            assertTrue(rpcEdges.values().iterator().next() > 0, rpcEdges.toString());
            Map<String, Double> rpcCallers = query(client, api, "sum(rate(istio_requests_total{reporter=\"source\","
                    + "request_protocol=\"dubbo\"}[1m])) by (source_workload, destination_service, response_code)",
                    "source_workload", "destination_service", "response_code");
            assertEquals(java.util.Set.of("productpage-v1 -> details.default.svc.cluster.local -> 200"),
                    rpcCallers.keySet(), rpcCallers.toString());
            Map<String, Double> rpcSuccess = query(client, api,
                    "sum(rate(istio_requests_total{reporter=\"destination\",request_protocol=\"dubbo\","
                            + "response_code!~\"5.*\"}[1m])) by (destination_workload) / sum(rate(istio_requests_total{"
                            + "reporter=\"destination\",request_protocol=\"dubbo\"}[1m])) by (destination_workload)",
                    "destination_workload");
            assertEquals(Map.of("details-v1", 1.0), rpcSuccess);
            Map<String, Double> rpcP99 = query(client, api, "histogram_quantile(0.99, sum(rate("
                    + "istio_request_duration_milliseconds_bucket{reporter=\"source\",request_protocol=\"dubbo\"}[1m]))"
                    + " by (le, destination_service))", "destination_service");
            assertEquals(java.util.Set.of("details.default.svc.cluster.local"), rpcP99.keySet(), rpcP99.toString());
            double v = rpcP99.values().iterator().next();
            assertTrue(v > 0 && v <= 60_000, "p99 of the Dubbo calls: " + v);
        } finally {
            driving.set(false);
            if (traffic != null) {
                traffic.get(30, TimeUnit.SECONDS);
            }
            if (prometheus != null) {
                prometheus.destroy();
                assertTrue(prometheus.waitFor(30, TimeUnit.SECONDS), "prometheus stops on SIGTERM");
            }
            demo.destroy();
            assertTrue(demo.waitFor(30, TimeUnit.SECONDS), "demo stops on SIGTERM");
        }
    }

    /**
     * Runs an instant query; returns each series' value keyed by its {@code keys} labels joined with
     * {@code " -> "}.
     */
    private Map<String, Double> query(HttpClient client, String api, String promql, String... keys)
            throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(api + "/api/v1/query?query="
                + URLEncoder.encode(promql, StandardCharsets.UTF_8))).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), promql + ": " + r.body());
        lastSeen = promql + " -> " + r.body();
        Struct.Builder b = Struct.newBuilder();
        JsonFormat.parser().merge(r.body(), b);
        Struct data = b.getFieldsOrThrow("data").getStructValue();
        assertEquals("vector", data.getFieldsOrThrow("resultType").getStringValue(), r.body());
        Map<String, Double> out = new HashMap<>();
        for (Value series : data.getFieldsOrThrow("result").getListValue().getValuesList()) {
            Map<String, Value> f = series.getStructValue().getFieldsMap();
            Map<String, Value> metric = f.get("metric").getStructValue().getFieldsMap();
            StringBuilder key = new StringBuilder();
            for (String k : keys) {
                if (key.length() > 0) {
                    key.append(" -> ");
                }
                Value v = metric.get(k);
                key.append(v == null ? "" : v.getStringValue());
            }
            String value = f.get("value").getListValue().getValues(1).getStringValue();
            out.put(key.toString(), Double.parseDouble(value));
        }
        return out;
    }

    /** Reads the rest of a process's output in the background, so it never blocks on a full pipe. */
    private static void drain(BufferedReader r) {
        Thread t = new Thread(() -> {
            try {
                while (r.readLine() != null) {
                    // discarded
                }
            } catch (IOException e) {
                // the process ended
            }
        }, "drain");
        t.setDaemon(true);
        t.start();
    }

    /** Calls {@code probe} every 500 ms until it returns non-null; fails after {@code limit}. */
    private <T> T waitFor(Duration limit, Callable<T> probe) throws Exception {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            T value = probe.call();
            if (value != null) {
                return value;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("not seen within " + limit + "; last: " + lastSeen);
    }
}
