package io.jmesh.proxy.telemetry.tracing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/**
 * How the Zipkin exporter uses its connections to the collector, seen by a real HTTP server (the JDK's
 * {@code com.sun.net.httpserver}, which tells each report's client port): reports share one kept-alive connection,
 * and a collector that closes the connection after each answer still gets every span, over a new connection per
 * report.
 */
class ZipkinCollectorConnectionTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** One report the collector received: the client's port and the number of spans in it. */
    record Report(int clientPort, int spans) {}

    final List<Report> reports = new CopyOnWriteArrayList<>();
    HttpServer collector;
    TestBackend backend;
    ProxyFixture proxy;

    @BeforeEach
    void start() throws Exception {
        backend = TestBackend.start("backend");
    }

    @AfterEach
    void stop() {
        if (proxy != null) {
            proxy.close();
        }
        if (collector != null) {
            collector.stop(0);
        }
        backend.close();
    }

    void startCollector(boolean closeAfterEachAnswer) throws IOException {
        collector = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        collector.createContext("/api/v2/spans", (HttpExchange ex) -> {
            try (InputStream in = ex.getRequestBody()) {
                int spans = JSON.readTree(in).size();
                reports.add(new Report(ex.getRemoteAddress().getPort(), spans));
            }
            if (closeAfterEachAnswer) {
                ex.getResponseHeaders().set("connection", "close");
            }
            ex.sendResponseHeaders(202, -1);
            ex.close();
        });
        collector.start();
    }

    void sendTracedRequests(int n) throws Exception {
        proxy = Bootstraps.http().hcm("tracing", ZipkinTracingTest.zipkinTracing("", ""))
                .route("/", "backend").cluster("backend", backend.port())
                .cluster("zipkin", collector.getAddress().getPort())
                .start();
        for (int i = 0; i < n; i++) {
            assertEquals(200, Curl.run("http://127.0.0.1:" + proxy.port() + "/" + i).status);
        }
        Poll.until(() -> reports.stream().mapToInt(Report::spans).sum() >= n, n + " spans at the collector");
        assertTrue(reports.size() > 1, "min_flush_spans 5 makes several reports of " + n + " spans: " + reports);
    }

    @Test
    void reportsShareOneKeptAliveConnection() throws Exception {
        startCollector(false);
        sendTracedRequests(12);
        assertEquals(12, reports.stream().mapToInt(Report::spans).sum(), reports.toString());
        assertEquals(1, reports.stream().map(Report::clientPort).distinct().count(), reports.toString());
    }

    @Test
    void aCollectorThatClosesEachConnectionGetsEverySpanOverNewConnections() throws Exception {
        startCollector(true);
        sendTracedRequests(12);
        assertEquals(12, reports.stream().mapToInt(Report::spans).sum(), reports.toString());
        assertEquals(reports.size(), reports.stream().map(Report::clientPort).distinct().count(), reports.toString());
    }
}
