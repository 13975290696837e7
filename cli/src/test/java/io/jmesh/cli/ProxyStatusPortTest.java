package io.jmesh.cli;

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
 * {@code jmesh proxy} in an injected pod: the kubelet's probes on the health port and the status port (the
 * application's original probe from {@code ISTIO_KUBE_APP_PROBERS}), and a Job's {@code POST /quitquitquit}
 * ending the process with exit code 0. A separate process, called with curl.
 */
class ProxyStatusPortTest {

    @Test
    void kubeletProbesAndQuitquitquit(@TempDir Path dir) throws Exception {
        HttpServer app = HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        app.createContext("/ready", ex -> {
            ex.sendResponseHeaders(204, -1);
            ex.close();
        });
        app.start();
        Process p = null;
        try {
            int appPort = app.getAddress().getPort();
            Path f = dir.resolve("ok.yaml");
            Files.writeString(f, ProxyCommandTest.CONFIG.replace("PORT", Integer.toString(appPort)));
            ProcessBuilder b = JmeshProcess.builder("-Xmx128m", "proxy", "--config", f.toString(),
                    "--status-port", "0", "--health-port", "0").redirectErrorStream(true);
            b.environment().put("ISTIO_KUBE_APP_PROBERS", "{\"/app-health/web/readyz\":{\"httpGet\":{\"path\":"
                    + "\"/ready\",\"port\":" + appPort + "}},\"/app-health/web/livez\":{\"tcpSocket\":{\"port\":"
                    + appPort + "}}}");
            p = b.start();
            BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            StringBuilder seen = new StringBuilder();
            String status = "http://127.0.0.1:" + JmeshProcess.await(r,
                    Pattern.compile("jmesh proxy: status on 0\\.0\\.0\\.0:(\\d+)"), seen);
            String health = "http://127.0.0.1:" + JmeshProcess.await(r,
                    Pattern.compile("jmesh proxy: health on 0\\.0\\.0\\.0:(\\d+)"), seen);
            assertEquals(200, Curl.run(health + "/healthz/ready").status, seen.toString());
            assertEquals(200, Curl.run(status + "/healthz/ready").status);
            assertEquals(204, Curl.run(status + "/app-health/web/readyz").status, "the application's own answer");
            assertEquals(200, Curl.run(status + "/app-health/web/livez").status);
            assertEquals(200, Curl.run("-X", "POST", status + "/quitquitquit").status);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the proxy exits after /quitquitquit");
            assertEquals(0, p.exitValue());
        } finally {
            if (p != null) {
                p.destroyForcibly();
            }
            app.stop(0);
        }
    }

    @Test
    void unsupportedProbeIsRefusedByName(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("ok.yaml");
        Files.writeString(f, ProxyCommandTest.CONFIG.replace("PORT", "1"));
        ProcessBuilder b = JmeshProcess.builder("-Xmx128m", "proxy", "--config", f.toString(),
                "--status-port", "0", "--health-port", "0").redirectErrorStream(true);
        b.environment().put("ISTIO_KUBE_APP_PROBERS", "{\"/app-health/web/livez\":{\"exec\":{}}}");
        Process p = b.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(2, p.exitValue(), out);
        assertTrue(out.contains("error: ISTIO_KUBE_APP_PROBERS./app-health/web/livez: [exec] (expected: httpGet, "
                + "tcpSocket or grpc)"), out);
    }
}
