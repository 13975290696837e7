package io.jmesh.cli;

import static io.jmesh.cli.CliRun.jmesh;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Isolated;

import io.jmesh.proxy.testing.TestBackend;

/**
 * {@code jmesh proxy-status} and {@code jmesh proxy-config} against a running discovery and a sidecar following
 * it, as a user types them: istioctl's table columns, the sync state, the comparison of one proxy's config with
 * discovery's, json output, and one-line errors with exit code 1.
 */
@Isolated
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class IstioctlVerbsTest {

    private TestBackend backend;
    private SidecarWithDiscovery mesh;
    private String monitoring;
    private String admin;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        backend = TestBackend.start("backend-v1");
        Files.writeString(dir.resolve("mesh.yaml"), """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: backend, namespace: default}
                spec:
                  hosts: [backend.default.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 9080, name: http, protocol: HTTP}]
                  endpoints: [{address: 127.0.0.1, ports: {http: %d}, labels: {version: v1}}]
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: backend, namespace: default}
                spec:
                  host: backend
                  subsets: [{name: v1, labels: {version: v1}}]
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: backend, namespace: default}
                spec:
                  hosts: [backend]
                  http: [{route: [{destination: {host: backend, subset: v1}}]}]
                """.formatted(backend.port()));
        mesh = SidecarWithDiscovery.start(dir);
        assertEquals(200, mesh.awaitRoute("backend.default.svc.cluster.local:9080").status());
        monitoring = mesh.monitoring();
        admin = mesh.admin();
    }

    @AfterAll
    void stop() {
        if (mesh != null) {
            mesh.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    private static List<String> columns(String line) {
        return List.of(line.trim().split(" {2,}"));
    }

    @Test
    void proxyStatusListsTheSidecarSynced() {
        CliRun r = jmesh("proxy-status", "-d", monitoring);
        assertEquals(0, r.exit(), r.err());
        String[] lines = r.out().split("\n");
        assertEquals(List.of("NAME", "CLUSTER", "CDS", "LDS", "EDS", "RDS", "ECDS", "ISTIOD", "VERSION"),
                columns(lines[0]));
        assertEquals(2, lines.length, r.out());
        List<String> row = columns(lines[1]);
        assertEquals("client.default", row.get(0));
        assertEquals("SYNCED", row.get(2), r.out());
        assertEquals("SYNCED", row.get(3), r.out());
        assertEquals("SYNCED", row.get(5), r.out());
    }

    @Test
    void proxyStatusOfOneProxyComparesItsConfigWithDiscoverys() {
        CliRun r = jmesh("proxy-status", "client.default", "-d", monitoring, "--admin", admin);
        assertEquals(0, r.exit(), r.err());
        assertEquals("Clusters Match\nListeners Match\nRoutes Match\n", r.out());

        CliRun unknown = jmesh("proxy-status", "nobody.default", "-d", monitoring, "--admin", admin);
        assertEquals(1, unknown.exit());
        assertEquals("Error: proxy nobody.default is not connected to jmesh discovery (connected: client.default)\n",
                unknown.err());
    }

    @Test
    void proxyConfigClusterShowsIstiosColumns() {
        CliRun r = jmesh("proxy-config", "cluster", admin, "--fqdn", "backend.default.svc.cluster.local");
        assertEquals(0, r.exit(), r.err());
        String[] lines = r.out().split("\n");
        assertEquals(List.of("SERVICE FQDN", "PORT", "SUBSET", "DIRECTION", "TYPE", "DESTINATION RULE"),
                List.of(lines[0].trim().split(" {2,}|(?<=PORT|SUBSET|DIRECTION|TYPE) ")));
        assertTrue(r.out().matches("(?s).*backend\\.default\\.svc\\.cluster\\.local +9080 +v1 +outbound +\\S+ .*"), r.out());
        assertTrue(r.out().matches("(?s).*backend\\.default\\.svc\\.cluster\\.local +9080 +- +outbound +\\S+ .*"), r.out());
        assertEquals(3, lines.length, r.out());
    }

    @Test
    void proxyConfigListenerRouteEndpointAndJson() throws Exception {
        CliRun listeners = jmesh("proxy-config", "listener", admin, "--port", "9080");
        assertEquals(0, listeners.exit(), listeners.err());
        assertTrue(listeners.out().startsWith("ADDRESSES PORT MATCH DESTINATION\n"), listeners.out());
        assertTrue(listeners.out().contains("0.0.0.0   9080 ALL   Route: 9080"), listeners.out());

        CliRun routes = jmesh("proxy-config", "route", admin, "--name", "9080");
        assertEquals(0, routes.exit(), routes.err());
        assertTrue(routes.out().startsWith("NAME VHOST NAME"), routes.out());
        assertTrue(routes.out().contains("9080 backend.default.svc.cluster.local:9080 backend.default.svc.cluster.local"),
                routes.out());

        CliRun endpoints = jmesh("proxy-config", "endpoint", admin, "--cluster",
                "outbound|9080|v1|backend.default.svc.cluster.local");
        assertEquals(0, endpoints.exit(), endpoints.err());
        assertEquals("ENDPOINT        STATUS  OUTLIER CHECK CLUSTER\n".replaceAll(" +", " "),
                endpoints.out().split("\n")[0].replaceAll(" +", " ") + "\n");
        assertTrue(endpoints.out().contains("127.0.0.1:" + backend.port() + " HEALTHY OK            "
                + "outbound|9080|v1|backend.default.svc.cluster.local"), endpoints.out());

        CliRun json = jmesh("proxy-config", "cluster", admin, "--fqdn", "backend.default.svc.cluster.local",
                "--subset", "v1", "-o", "json");
        assertEquals(0, json.exit(), json.err());
        var tree = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.out());
        assertEquals(1, tree.size(), json.out());
        assertEquals("outbound|9080|v1|backend.default.svc.cluster.local", tree.get(0).path("name").asText());
    }

    @Test
    void errorsAreOneLineWithExitCodeOne() {
        CliRun badFormat = jmesh("proxy-config", "cluster", admin, "-o", "xml");
        assertEquals(1, badFormat.exit());
        assertEquals("Error: --output: xml (expected: short, json or yaml)\n", badFormat.err());

        CliRun noProxy = jmesh("proxy-config", "cluster", "127.0.0.1:1");
        assertEquals(1, noProxy.exit());
        assertTrue(noProxy.err().startsWith("Error: cannot reach the proxy's admin at 127.0.0.1:1 ("), noProxy.err());
        assertEquals(1, noProxy.err().split("\n").length, noProxy.err());
    }
}
