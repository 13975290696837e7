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
 * {@code jmesh discovery --ca-dir} and {@code jmesh proxy --discovery-address HOST:15012 --xds-root-ca} as
 * processes: discovery writes its root, the proxy follows it over TLS verified against that root and routes curl
 * to the app; a bad token file stops discovery with the field at fault.
 */
class SecureDiscoveryCommandTest {

    @Test
    void proxyFollowsDiscoveryOverTls(@TempDir Path dir) throws Exception {
        HttpServer app = HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        app.createContext("/", ex -> {
            byte[] body = "hello over tls xds\n".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        app.start();
        Path config = dir.resolve("config");
        Files.createDirectories(config);
        Files.writeString(config.resolve("app.yaml"), """
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
            discovery = jmesh("discovery", "--config-dir", config.toString(), "--grpc-addr", "127.0.0.1:0",
                    "--secure-grpc-addr", "127.0.0.1:0", "--monitoring-addr", "127.0.0.1:0",
                    "--ca-dir", dir.resolve("ca").toString());
            BufferedReader dr = new BufferedReader(new InputStreamReader(discovery.getInputStream(), StandardCharsets.UTF_8));
            String secure = await(dr, Pattern.compile("xDS and CA over TLS on (127\\.0\\.0\\.1:\\d+)"), new StringBuilder());
            assertTrue(Files.exists(dir.resolve("ca/root-cert.pem")));
            proxy = jmesh("proxy", "--discovery-address", secure, "--xds-root-ca", dir.resolve("ca/root-cert.pem").toString(),
                    "--node-id", "sidecar~10.0.0.9~client.default~default.svc.cluster.local",
                    "--admin-port", "0", "--listener-address", "127.0.0.1", "--listener-port", "9080=0");
            BufferedReader pr = new BufferedReader(new InputStreamReader(proxy.getInputStream(), StandardCharsets.UTF_8));
            int port = Integer.parseInt(await(pr, Pattern.compile("listener 0\\.0\\.0\\.0_9080 on /127\\.0\\.0\\.1:(\\d+)"),
                    new StringBuilder()));
            Curl.Result r = null;
            for (int i = 0; i < 200 && (r == null || r.status != 200); i++) {
                r = Curl.run("-H", "Host: app.default.svc.cluster.local:9080", "http://127.0.0.1:" + port + "/x");
                if (r.status != 200) {
                    Thread.sleep(100);
                }
            }
            assertEquals(200, r.status, String.valueOf(r));
            assertEquals("hello over tls xds\n", r.body);
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

    @Test
    void badTokenFileStopsDiscoveryNamingTheField(@TempDir Path dir) throws Exception {
        Path tokens = dir.resolve("tokens.yaml");
        Files.writeString(tokens, "tokens:\n- token: short\n  namespace: default\n  serviceAccount: reviews\n");
        Process discovery = jmesh("discovery", "--config-dir", dir.toString(), "--grpc-addr", "127.0.0.1:0",
                "--secure-grpc-addr", "127.0.0.1:0", "--monitoring-addr", "127.0.0.1:0", "--ca-tokens", tokens.toString());
        String out = new String(discovery.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(discovery.waitFor(60, TimeUnit.SECONDS));
        assertEquals(1, discovery.exitValue(), out);
        assertTrue(out.contains("error: " + tokens + ": tokens[0].token: 5 characters (expected: 16 to 4096 visible "
                + "ASCII characters)"), out);
    }
}
