package io.jmesh.cli;

import static io.jmesh.cli.JmeshProcess.jmesh;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.sun.net.httpserver.HttpServer;

/** {@code jmesh proxy} as a user runs it: a separate process, exit codes, SIGTERM drain. */
class ProxyCommandTest {

    static final String CONFIG = """
            static_resources:
              listeners:
              - name: main
                address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
                filter_chains:
                - filters:
                  - name: envoy.filters.network.http_connection_manager
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                      stat_prefix: main
                      route_config:
                        virtual_hosts:
                        - name: all
                          domains: ["*"]
                          routes:
                          - match: { prefix: / }
                            route: { cluster: app }
                      http_filters:
                      - name: envoy.filters.http.router
              clusters:
              - name: app
                connect_timeout: 1s
                type: STATIC
                load_assignment:
                  cluster_name: app
                  endpoints:
                  - lb_endpoints:
                    - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: PORT } } }
            """;

    @Test
    void versionAndHelp() throws Exception {
        Process p = jmesh("version");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue());
        assertTrue(out.startsWith("jmesh version "), out);
        Process h = jmesh("--help");
        String help = new String(h.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(h.waitFor(60, TimeUnit.SECONDS));
        assertTrue(help.contains("proxy") && help.contains("demo"), help);
    }

    @Test
    void invalidConfigExitsOneWithFileAndPath(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("bad.yaml");
        Files.writeString(f, CONFIG.replace("connect_timeout", "connect_timout").replace("PORT", "1"));
        Process p = jmesh("proxy", "--config", f.toString(), "--status-port", "0");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue(), out);
        assertTrue(out.contains(f + ": static_resources.clusters[0].connect_timout: unknown field"), out);
    }

    @Test
    void aBadDrainStrategyOrDrainTimeExitsTwoNamingTheFlag(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("proxy.yaml");
        Files.writeString(f, CONFIG.replace("PORT", "1"));
        Process p = jmesh("proxy", "--config", f.toString(), "--drain-strategy", "slow", "--status-port", "0");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, p.exitValue(), out);
        assertTrue(out.contains("error: --drain-strategy: slow (expected: gradual or immediate)"), out);
        Process t = jmesh("proxy", "--config", f.toString(), "--drain-time-s", "-1", "--status-port", "0");
        String tout = new String(t.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(t.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, t.exitValue(), tout);
        assertTrue(tout.contains("error: --drain-time-s: -1.0 (expected: a number of seconds >= 0)"), tout);
    }

    @Test
    void sigtermDrainsInFlightRequestsAndExitsZero(@TempDir Path dir) throws Exception {
        HttpServer app = HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        java.util.concurrent.CountDownLatch atApp = new java.util.concurrent.CountDownLatch(1);
        app.createContext("/", ex -> {
            atApp.countDown();
            try {
                Thread.sleep(1500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            byte[] body = "slow but complete\n".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        app.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        app.start();
        Process p = null;
        try {
            Path f = dir.resolve("ok.yaml");
            Files.writeString(f, CONFIG.replace("PORT", Integer.toString(app.getAddress().getPort())));
            p = jmesh("proxy", "--config", f.toString(), "--drain-time", "10", "--status-port", "0");
            BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            int port = -1;
            Pattern listening = Pattern.compile("listener main on 127.0.0.1:(\\d+)");
            String line;
            while ((line = r.readLine()) != null) {
                Matcher m = listening.matcher(line);
                if (m.find()) {
                    port = Integer.parseInt(m.group(1));
                    break;
                }
            }
            assertTrue(port > 0, "proxy printed its port");
            HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            CompletableFuture<HttpResponse<String>> inFlight = client.sendAsync(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/slow")).timeout(Duration.ofSeconds(20)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertTrue(atApp.await(20, TimeUnit.SECONDS), "the request reached the app through the proxy");
            p.destroy(); // SIGTERM
            HttpResponse<String> resp = inFlight.get(20, TimeUnit.SECONDS);
            assertEquals(200, resp.statusCode());
            assertEquals("slow but complete\n", resp.body());
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "proxy exited after draining");
            assertEquals(0, p.exitValue());
        } finally {
            if (p != null) {
                p.destroyForcibly();
            }
            app.stop(0);
        }
    }
}
