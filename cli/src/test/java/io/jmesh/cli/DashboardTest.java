package io.jmesh.cli;

import static io.jmesh.cli.CliRun.jmesh;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.testing.Poll;

/**
 * {@code jmesh dashboard} in a real browser: headless Chromium (Debian's {@code chromium}) loads the page discovery
 * serves, runs its script for a few seconds of virtual time, and the DOM it leaves has the services and the
 * workload as graph nodes, the endpoint edge with the workload's mTLS mode and the weighted route edges, the
 * proxy's sync state, the config objects with the rejected one's validation message, and an update counter that
 * moved (the page polls). A screenshot is kept at {@code cli/target/dashboard.png}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DashboardTest {

    private static final String NODE = "sidecar~10.0.0.7~reviews-v1.default~default.svc.cluster.local";

    private SidecarWithDiscovery mesh;
    private String monitoring;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("mesh.yaml"), """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: reviews, namespace: default}
                spec:
                  hosts: [reviews.default.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 9080, name: http, protocol: HTTP}]
                  endpoints:
                  - {address: 10.0.0.7, labels: {app: reviews, version: v1}}
                  - {address: 10.0.0.8, labels: {app: reviews, version: v2}}
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: default}
                spec:
                  host: reviews
                  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: reviews, namespace: default}
                spec:
                  hosts: [reviews]
                  http:
                  - route:
                    - {destination: {host: reviews, subset: v1}, weight: 80}
                    - {destination: {host: reviews, subset: v2}, weight: 20}
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: istio-system}
                spec: {mtls: {mode: STRICT}}
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: broken, namespace: default}
                spec:
                  host: ratings
                  trafficPolicy: {loadBalancer: {simple: FASTEST}}
                """);
        mesh = SidecarWithDiscovery.start(dir, NODE, Map.of("app", "reviews", "version", "v1"));
        monitoring = mesh.monitoring();
        Poll.until(() -> jmesh("proxy-status", "-d", monitoring).out().matches("(?s).*reviews-v1\\.default +\\S+ +SYNCED.*"),
                "reviews-v1.default synced");
    }

    @AfterAll
    void stop() {
        if (mesh != null) {
            mesh.close();
        }
    }

    private static String chromium(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("chromium", "--headless", "--no-sandbox", "--disable-gpu",
                "--virtual-time-budget=7000"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "chromium did not finish");
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    @Test
    void pageShowsGraphSyncAndConfigAndUpdatesLive() throws Exception {
        CliRun r = jmesh("dashboard", "-d", monitoring);
        assertEquals(0, r.exit(), r.err());
        String url = r.out().strip();
        assertEquals("http://" + monitoring + "/dashboard", url);

        String dom = chromium("--dump-dom", url);
        assertTrue(dom.contains("data-node=\"reviews.default.svc.cluster.local\""), dom);
        assertTrue(dom.contains("data-node=\"reviews-v1.default\""), dom);
        assertTrue(dom.contains("[STRICT]"), dom);
        assertTrue(dom.contains("data-edge=\"reviews.default.svc.cluster.local-&gt;reviews-v1.default\""), dom);
        assertTrue(dom.contains(">mTLS STRICT<"), dom);
        assertTrue(dom.contains(">v1 80%<") && dom.contains(">v2 20%<"), dom);
        Matcher proxyRow = Pattern.compile("<tr data-proxy=\"reviews-v1.default\">(.*?)</tr>").matcher(dom);
        assertTrue(proxyRow.find(), dom);
        assertTrue(proxyRow.group(1).startsWith("<td>reviews-v1.default</td><td class=\"SYNCED\">SYNCED</td>"
                + "<td class=\"SYNCED\">SYNCED</td>"), proxyRow.group(1));
        Matcher broken = Pattern.compile("<tr data-config=\"[^\"]*broken[^\"]*\">(.*?)</tr>").matcher(dom);
        assertTrue(broken.find(), dom);
        assertTrue(broken.group(1).contains("rejected") && broken.group(1).contains("FASTEST"), broken.group(1));
        Matcher updates = Pattern.compile("data-updates=\"(\\d+)\"").matcher(dom);
        assertTrue(updates.find(), dom);
        assertTrue(Integer.parseInt(updates.group(1)) > 1, "the page polled once only: " + updates.group(1));

        Path shot = Path.of("target", "dashboard.png").toAbsolutePath();
        Files.deleteIfExists(shot);
        chromium("--window-size=1200,900", "--screenshot=" + shot, url);
        assertTrue(Files.size(shot) > 1000, shot + " is " + Files.size(shot) + " bytes");
    }
}
