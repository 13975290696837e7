package io.jmesh.cli;

import static io.jmesh.cli.JmeshProcess.jmesh;
import static io.jmesh.cli.JmeshProcess.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.sun.net.httpserver.HttpServer;

import io.jmesh.proxy.testing.Curl;

/**
 * {@code jmesh discovery} and {@code jmesh proxy --discovery-address} as processes: the proxy gets its outbound
 * listener and routes from the YAML directory, curl reaches the app through it, SIGTERM stops both with exit 0.
 */
class DiscoveryCommandTest {

    /** Reads lines until one matches; returns its first group. */

    @Test
    void proxyFollowsDiscoveryFromTheCommandLine(@TempDir Path dir) throws Exception {
        HttpServer app = HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        app.createContext("/", ex -> {
            byte[] body = "hello from app\n".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        app.start();
        Files.writeString(dir.resolve("app.yaml"), """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: app, namespace: default}
                spec:
                  hosts: [app.default.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 9080, name: http, protocol: HTTP}]
                  endpoints: [{address: 127.0.0.1, ports: {http: %d}}]
                """.formatted(app.getAddress().getPort()));
        Process discovery = null;
        Process proxy = null;
        try {
            discovery = jmesh("discovery", "--config-dir", dir.toString(), "--grpc-addr", "127.0.0.1:0",
                    "--secure-grpc-addr", "127.0.0.1:0", "--monitoring-addr", "127.0.0.1:0");
            BufferedReader dr = new BufferedReader(new InputStreamReader(discovery.getInputStream(), StandardCharsets.UTF_8));
            String xds = await(dr, Pattern.compile("xDS on (127\\.0\\.0\\.1:\\d+)"), new StringBuilder());
            proxy = jmesh("proxy", "--discovery-address", xds,
                    "--node-id", "sidecar~10.0.0.9~client.default~default.svc.cluster.local",
                    "--node-label", "app=client", "--admin-port", "0", "--status-port", "0",
                    "--listener-address", "127.0.0.1", "--listener-port", "9080=0");
            BufferedReader pr = new BufferedReader(new InputStreamReader(proxy.getInputStream(), StandardCharsets.UTF_8));
            int port = Integer.parseInt(await(pr, Pattern.compile("listener 0\\.0\\.0\\.0_9080 on /127\\.0\\.0\\.1:(\\d+)"),
                    new StringBuilder()));
            Curl.Result r = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (System.nanoTime() < deadline) {
                r = Curl.run("-H", "Host: app.default.svc.cluster.local:9080", "http://127.0.0.1:" + port + "/x");
                if (r.status == 200) {
                    break;
                }
                Thread.sleep(100);
            }
            assertEquals(200, r.status, String.valueOf(r));
            assertEquals("hello from app\n", r.body);
            proxy.destroy();
            discovery.destroy();
            assertTrue(proxy.waitFor(30, TimeUnit.SECONDS) && discovery.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, proxy.exitValue());
            assertEquals(0, discovery.exitValue());
        } finally {
            if (proxy != null) {
                proxy.destroyForcibly();
            }
            if (discovery != null) {
                discovery.destroyForcibly();
            }
            app.stop(0);
        }
    }
}
