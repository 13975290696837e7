package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code jmesh demo} starts discovery, sidecars and a gateway configured from examples/demo, prints the gateway URL,
 * serves the sample services through it, follows an edit of routing.yaml, and stops by itself with exit code 0.
 */
class DemoCommandTest {

    @TempDir
    Path dir;

    private static HttpResponse<String> get(HttpClient client, String url, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void demoServesThroughTheGatewayAndFollowsTheYaml() throws Exception {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            CompletableFuture<Integer> run = CompletableFuture.supplyAsync(
                    () -> Main.run("demo", "--verbose", "--duration", "60", "--dir", dir.toString()));
            Pattern url = Pattern.compile("gateway: +(http://127\\.0\\.0\\.1:\\d+)/productpage");
            String base = null;
            // The demo gives its components a minute to get their config (DemoCommand.START_TIMEOUT_SECONDS).
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            String routingFile = dir.resolve("routing.yaml").toString();
            // The URL and the edit hint are printed one after the other: wait for both (the test reads stdout as
            // the demo writes it).
            while (base == null && System.nanoTime() < deadline && !run.isDone()) {
                String out = buf.toString(StandardCharsets.UTF_8);
                Matcher m = url.matcher(out);
                if (m.find() && out.contains(routingFile)) {
                    base = m.group(1);
                } else {
                    Thread.sleep(50);
                }
            }
            assertTrue(base != null, "demo printed its gateway URL: " + buf);
            assertTrue(buf.toString(StandardCharsets.UTF_8).contains(routingFile), "demo says which file to edit: " + buf);
            HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            HttpResponse<String> page = get(client, base + "/productpage");
            assertEquals(200, page.statusCode());
            assertTrue(page.body().contains("\"service\":\"productpage\""), page.body());
            // STRICT mTLS between the gateway and the sidecars: the app sees the identity its sidecar verified.
            assertTrue(page.body().contains("\"caller\":\"spiffe://cluster.local/ns/default/sa/istio-ingressgateway\""),
                    page.body());
            // productpage called reviews through its own sidecar, over mTLS: reviews saw productpage's identity.
            assertTrue(page.body().contains("\"calls\":[{\"service\":\"reviews\""), page.body());
            assertTrue(page.body().contains("\"caller\":\"spiffe://cluster.local/ns/default/sa/bookinfo-productpage\""),
                    page.body());
            // productpage called details over Dubbo through its sidecar's Dubbo listener: 20 is Dubbo's OK status.
            assertTrue(page.body().contains("{\"service\":\"details\",\"protocol\":\"dubbo\",\"status\":20}"),
                    page.body());
            HttpResponse<String> ratings = get(client, base + "/ratings");
            assertTrue(ratings.body().contains("\"service\":\"ratings\""), ratings.body());
            for (int i = 0; i < 3; i++) {
                HttpResponse<String> jason = get(client, base + "/reviews", "end-user", "jason");
                assertTrue(jason.body().contains("\"version\":\"v2\""), jason.body());
            }

            // Shift all of reviews to v2 by editing the YAML, as the demo tells the user to.
            Path routing = dir.resolve("routing.yaml");
            String yaml = Files.readString(routing);
            String edited = yaml.replace("subset: v1}, weight: 80}", "subset: v1}, weight: 0}")
                    .replace("subset: v2}, weight: 20}", "subset: v2}, weight: 100}");
            assertTrue(!edited.equals(yaml), "the example has the 80/20 split");
            Path tmp = dir.resolve(".routing.tmp");
            Files.writeString(tmp, edited);
            Files.move(tmp, routing, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            int v2InARow = 0;
            long shiftDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (v2InARow < 20 && System.nanoTime() < shiftDeadline) {
                HttpResponse<String> r = get(client, base + "/reviews");
                assertEquals(200, r.statusCode(), r.body());
                v2InARow = r.body().contains("\"version\":\"v2\"") ? v2InARow + 1 : 0;
            }
            assertEquals(20, v2InARow, "after the edit every /reviews goes to v2");

            // An AuthorizationPolicy on the identity that mTLS verified: the gateway may no longer call ratings.
            Path authzTmp = dir.resolve(".authz.tmp");
            Files.writeString(authzTmp, """
                    apiVersion: security.istio.io/v1
                    kind: AuthorizationPolicy
                    metadata: {name: ratings-not-from-gateway, namespace: default}
                    spec:
                      selector: {matchLabels: {app: ratings}}
                      action: DENY
                      rules: [{from: [{source: {principals: [cluster.local/ns/default/sa/istio-ingressgateway]}}]}]
                    """);
            Files.move(authzTmp, dir.resolve("authz.yaml"), StandardCopyOption.ATOMIC_MOVE);
            final String gateway = base;
            HttpResponse<String> denied = waitFor(Duration.ofSeconds(15), () -> {
                HttpResponse<String> r = get(client, gateway + "/ratings");
                return r.statusCode() == 403 ? r : null;
            });
            assertEquals("RBAC: access denied", denied.body());
            assertEquals(200, get(client, base + "/productpage").statusCode(), "other services still answer");
            assertEquals(0, run.get(150, TimeUnit.SECONDS));
        } finally {
            System.setOut(old);
        }
    }

    /** Calls {@code probe} every 100 ms until it returns non-null; fails after {@code limit}. */
    private static <T> T waitFor(Duration limit, java.util.concurrent.Callable<T> probe) throws Exception {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            T value = probe.call();
            if (value != null) {
                return value;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("not seen within " + limit);
    }

    /**
     * As a user sees it in a terminal (a separate process): the banner comes first, with no subsystem log lines
     * before it; the logs are in the file the banner names; the discovery URL answers with an index of its pages;
     * and each second with traffic through the gateway prints one line with requests, success rate and p99.
     */
    @Test
    void bannerFirstLogsInAFileAndALinePerSecondOfTraffic() throws Exception {
        Process p = JmeshProcess.builder("-Xmx256m", "demo", "--duration", "30", "--dir", dir.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        StringBuilder out = new StringBuilder();
        CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    synchronized (out) {
                        out.append(line).append('\n');
                    }
                }
            } catch (IOException e) {
                // the process ended
            }
        });
        try {
            Pattern banner = Pattern.compile("gateway: +(http://127\\.0\\.0\\.1:\\d+)/productpage[\\s\\S]*"
                    + "discovery: xDS 127\\.0\\.0\\.1:\\d+, (http://127\\.0\\.0\\.1:\\d+/) [\\s\\S]*"
                    + "dashboard: +(http://127\\.0\\.0\\.1:\\d+/dashboard) [\\s\\S]*logs: +(\\S+)\n");
            Matcher m = waitFor(Duration.ofSeconds(90), () -> {
                synchronized (out) {
                    Matcher found = banner.matcher(out);
                    return found.find() ? found : null;
                }
            });
            String printed;
            synchronized (out) {
                printed = out.toString();
            }
            assertTrue(printed.startsWith("jmesh demo is running.\n"), "the banner is the first thing printed:\n" + printed);
            Path log = Path.of(m.group(4));
            assertTrue(Files.readString(log).contains("monitoring on http://127.0.0.1:"),
                    "subsystem logs are in " + log);

            HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            HttpResponse<String> index = get(client, m.group(2));
            assertEquals(200, index.statusCode());
            assertTrue(index.body().contains("/debug/syncz") && index.body().contains("/debug/configz"), index.body());
            HttpResponse<String> dashboard = get(client, m.group(3));
            assertEquals(200, dashboard.statusCode(), "the dashboard the banner names answers");

            Pattern traffic = Pattern.compile("\\d\\d:\\d\\d:\\d\\d  gateway  \\d+ req/s  success 100\\.0%  p99 [\\d.]+ ms\n");
            Matcher line = waitFor(Duration.ofSeconds(20), () -> {
                get(client, m.group(1) + "/productpage");
                synchronized (out) {
                    Matcher found = traffic.matcher(out);
                    return found.find() ? found : null;
                }
            });
            assertTrue(line.group().contains("gateway"), line.group());
        } finally {
            p.destroy();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "demo stops on SIGTERM");
            reader.get(10, TimeUnit.SECONDS);
        }
    }
}
