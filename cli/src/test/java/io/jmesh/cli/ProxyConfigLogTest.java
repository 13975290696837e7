package io.jmesh.cli;

import static io.jmesh.cli.CliRun.jmesh;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Isolated;

import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.RawHttp;
import io.jmesh.proxy.testing.TestBackend;

/**
 * {@code jmesh proxy-config log} and {@code proxy-config all} against a running discovery and a sidecar following
 * it: the proxy's admin {@code /logging} lists Envoy's logger names, a level set from the CLI changes what the
 * proxy logs at once (a bad request logged at debug appears only after {@code --level http:debug}), {@code --reset}
 * brings it back, and bad names or levels are one-line errors that change nothing.
 */
@Isolated
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProxyConfigLogTest {

    private TestBackend backend;
    private SidecarWithDiscovery mesh;
    private String admin;
    private final List<LogRecord> httpRecords = new CopyOnWriteArrayList<>();
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord r) {
            if (isLoggable(r)) {
                httpRecords.add(r);
            }
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };
    /** Held: JUL keeps loggers weakly. */
    private final Logger http = Logger.getLogger("io.jmesh.proxy.network.http");

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
        admin = mesh.admin();
        http.addHandler(capture);
    }

    @AfterAll
    void stop() {
        http.removeHandler(capture);
        jmesh("proxy-config", "log", admin, "--reset");
        if (mesh != null) {
            mesh.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    private int listenerPort() {
        return mesh.proxy.listenerAddresses().get("0.0.0.0_9080").getPort();
    }

    private boolean badRequestLogged() {
        return httpRecords.stream().anyMatch(r -> r.getLevel() == java.util.logging.Level.FINE
                && r.getMessage().contains("bad request"));
    }

    @Test
    void levelsChangeAtRunTimeAndResetBack() throws Exception {
        CliRun list = jmesh("proxy-config", "log", admin);
        assertEquals(0, list.exit(), list.err());
        assertTrue(list.out().startsWith(admin + ":\nactive loggers:\n  admin: info\n"), list.out());
        assertTrue(list.out().contains("\n  http: info\n"), list.out());
        assertTrue(list.out().contains("\n  router: info\n"), list.out());

        // At info, a malformed request is answered 400 and not logged.
        assertEquals(400, RawHttp.exchange(listenerPort(), "GET / HTTP/1.1\r\nHost: x\r\nBad header\r\n\r\n",
                true).status);
        assertTrue(!badRequestLogged(), httpRecords.toString());

        CliRun debug = jmesh("proxy-config", "log", admin, "--level", "http:debug,router:trace");
        assertEquals(0, debug.exit(), debug.err());
        assertTrue(debug.out().contains("\n  http: debug\n"), debug.out());
        assertTrue(debug.out().contains("\n  router: trace\n"), debug.out());
        assertTrue(debug.out().contains("\n  upstream: info\n"), debug.out());

        assertEquals(400, RawHttp.exchange(listenerPort(), "GET / HTTP/1.1\r\nHost: x\r\nBad header\r\n\r\n",
                true).status);
        Poll.until(this::badRequestLogged, "the bad request logged at debug");

        CliRun reset = jmesh("proxy-config", "log", admin, "-r");
        assertEquals(0, reset.exit(), reset.err());
        assertTrue(reset.out().contains("\n  http: info\n"), reset.out());
        assertTrue(reset.out().contains("\n  router: info\n"), reset.out());

        CliRun all = jmesh("proxy-config", "log", admin, "--level", "warning");
        assertEquals(0, all.exit(), all.err());
        assertTrue(all.out().contains("\n  admin: warning\n") && all.out().contains("\n  upstream: warning\n"),
                all.out());
        assertTrue(!all.out().contains(": info\n"), all.out());
        jmesh("proxy-config", "log", admin, "--reset");
    }

    @Test
    void badNamesAndLevelsAreOneLineErrorsThatChangeNothing() throws Exception {
        CliRun name = jmesh("proxy-config", "log", admin, "--level", "http:debug,nosuch:debug");
        assertEquals(1, name.exit());
        assertEquals("Error: unrecognized logger name: nosuch\n", name.err());
        CliRun level = jmesh("proxy-config", "log", admin, "--level", "http:loud");
        assertEquals(1, level.exit());
        assertEquals("Error: unrecognized logging level: loud\n", level.err());
        CliRun both = jmesh("proxy-config", "log", admin, "--level", "debug", "--reset");
        assertEquals(1, both.exit());
        assertEquals("Error: --level cannot be combined with --reset\n", both.err());

        // The admin itself, as Envoy's: POST only, 400 with the usage for an unknown name, nothing changed.
        HttpClient client = HttpClient.newHttpClient();
        HttpResponse<String> bad = client.send(HttpRequest.newBuilder(URI.create("http://" + admin
                        + "/logging?paths=http:debug,nosuch:debug")).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(400, bad.statusCode());
        assertTrue(bad.body().startsWith("error: unknown logger name: nosuch"), bad.body());
        assertTrue(bad.body().contains("usage: /logging?paths=name1:level1,name2:level2,..."), bad.body());
        assertTrue(bad.body().contains("\n  http: info\n"), bad.body());
        HttpResponse<String> get = client.send(HttpRequest.newBuilder(URI.create("http://" + admin + "/logging"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(405, get.statusCode());
    }

    @Test
    void allPrintsEverySection() {
        CliRun r = jmesh("proxy-config", "all", admin);
        assertEquals(0, r.exit(), r.err());
        String out = r.out();
        for (String section : List.of("bootstrap", "cluster", "listener", "route", "secret", "endpoints")) {
            assertTrue(out.contains("------ " + section + " info ------\n"), section + " in\n" + out);
        }
        assertTrue(out.contains("SERVICE FQDN"), out);
        assertTrue(out.matches("(?s).*backend\\.default\\.svc\\.cluster\\.local +9080 +- +outbound.*"), out);
        assertTrue(out.contains("127.0.0.1:" + backend.port() + " "), out);
    }
}
