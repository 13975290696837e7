package io.jmesh.cli;

import static io.jmesh.cli.CliRun.jmesh;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Isolated;

import io.jmesh.proxy.testing.TestBackend;

/**
 * {@code jmesh bug-report} against a running discovery and a sidecar following it: the archive is a real
 * {@code .tar.gz} (listed by the system's {@code tar}) holding discovery's debug pages, the proxy's config dump,
 * stats, clusters, server info and log levels, the versions, the given log file and a summary; what cannot be
 * reached is named in the summary; nothing reachable at all is an error without an archive.
 */
@Isolated
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BugReportCommandTest {

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
                  endpoints: [{address: 127.0.0.1, ports: {http: %d}}]
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

    private static Map<String, String> entries(Path archive) throws Exception {
        Map<String, String> out = new LinkedHashMap<>();
        try (InputStream in = Files.newInputStream(archive);
             TarArchiveInputStream tar = new TarArchiveInputStream(new GzipCompressorInputStream(in))) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                out.put(e.getName(), new String(tar.readAllBytes(), StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    @Test
    void archiveHoldsDiscoveryProxyVersionsLogsAndSummary(@TempDir Path dir) throws Exception {
        Path log = Files.writeString(dir.resolve("demo.log"), "[main] INFO io.jmesh.cli.DemoCommand - hello\n");
        Path archive = dir.resolve("out/report.tar.gz");
        CliRun r = jmesh("bug-report", "--output", archive.toString(), "--discovery", monitoring,
                "--admin", admin, "--admin", "127.0.0.1:1", "--log", log.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("Wrote " + archive + " ("), r.out());
        assertTrue(r.err().contains("Warning: cannot reach the proxy's admin at 127.0.0.1:1"), r.err());

        // The system's tar reads it.
        Process tar = new ProcessBuilder("tar", "-tzf", archive.toString()).redirectErrorStream(true).start();
        String listing = new String(tar.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, tar.waitFor(), listing);
        assertTrue(listing.startsWith("bug-report/summary.txt\nbug-report/versions.txt\n"), listing);

        Map<String, String> e = entries(archive);
        for (String name : List.of("discovery/metrics.txt", "discovery/debug/syncz.json",
                "discovery/debug/configz.json", "discovery/debug/registryz.json",
                "discovery/debug/config_dump/client.default.json", "proxies/client.default/config_dump.json",
                "proxies/client.default/stats.txt", "proxies/client.default/stats_prometheus.txt",
                "proxies/client.default/clusters.txt", "proxies/client.default/server_info.json",
                "proxies/client.default/logging.txt", "logs/demo.log")) {
            assertTrue(e.containsKey("bug-report/" + name), name + " in " + e.keySet());
        }
        ObjectMapper json = new ObjectMapper();
        JsonNode syncz = json.readTree(e.get("bug-report/discovery/debug/syncz.json"));
        assertEquals(SidecarWithDiscovery.NODE, syncz.get(0).path("proxy").asText());
        JsonNode configz = json.readTree(e.get("bug-report/discovery/debug/configz.json"));
        assertEquals("ServiceEntry", configz.path("configs").get(0).path("kind").asText());
        JsonNode dump = json.readTree(e.get("bug-report/proxies/client.default/config_dump.json"));
        assertTrue(dump.path("configs").toString().contains("outbound|9080||backend.default.svc.cluster.local"));
        assertTrue(e.get("bug-report/proxies/client.default/clusters.txt")
                .contains("outbound|9080||backend.default.svc.cluster.local::127.0.0.1:" + backend.port()));
        assertTrue(e.get("bug-report/proxies/client.default/logging.txt").startsWith("active loggers:\n"));
        assertEquals("[main] INFO io.jmesh.cli.DemoCommand - hello\n", e.get("bug-report/logs/demo.log"));

        String versions = e.get("bug-report/versions.txt");
        assertTrue(versions.startsWith("jmesh CLI: "), versions);
        assertTrue(versions.contains("proxy client.default (" + admin + "): "), versions);

        String summary = e.get("bug-report/summary.txt");
        assertTrue(summary.contains("discovery: " + monitoring + "\n"), summary);
        assertTrue(summary.matches("(?s).*\n  client\\.default +Kubernetes +SYNCED +SYNCED .*"), summary);
        assertTrue(summary.contains("  " + admin + ": client.default -> proxies/client.default/\n"), summary);
        assertTrue(summary.contains("  127.0.0.1:1: not reachable\n"), summary);
    }

    @Test
    void nothingReachableIsAnErrorWithoutArchive(@TempDir Path dir) {
        Path archive = dir.resolve("report.tar.gz");
        CliRun r = jmesh("bug-report", "-o", archive.toString(), "-d", "127.0.0.1:1");
        assertEquals(1, r.exit());
        assertTrue(r.err().startsWith("Error: cannot reach jmesh discovery at 127.0.0.1:1 ("), r.err());
        assertTrue(r.err().endsWith("Error: nothing could be collected; no archive written\n"), r.err());
        assertTrue(!Files.exists(archive));
    }
}
