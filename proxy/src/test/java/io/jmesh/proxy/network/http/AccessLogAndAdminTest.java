package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.testing.AccessLogFiles;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/** Access logs with Envoy's default and custom formats (response flags included), and the admin API after real traffic. */
class AccessLogAndAdminTest {

    /** One virtual host {@code app.example}: {@code /ok} to a backend, {@code /empty} to a cluster without hosts. */
    static Bootstraps config(int backend, Path defaultLog, Path customLog) {
        return Bootstraps.http()
                .accessLog(defaultLog)
                .accessLog(customLog, "%RESPONSE_CODE% %RESPONSE_FLAGS% %REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"
                        + " %UPSTREAM_CLUSTER% %REQ(X-TAG)%")
                .virtualHost("strict", "app.example")
                .route("/ok", "backend")
                .route("/empty", "empty")
                .cluster("backend", backend)
                .cluster("empty");
    }

    @Test
    void accessLogsAndAdmin(@TempDir Path dir) throws Exception {
        Path defaultLog = dir.resolve("default.log");
        Path customLog = dir.resolve("custom.log");
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = config(backend.port(), defaultLog, customLog).start(2)) {
            assertEquals(200, Curl.run("-H", "Host: app.example", "-H", "x-tag: t1", proxy.url("/ok")).status);
            assertEquals(404, Curl.run("-H", "Host: other.example", proxy.url("/nothing")).status);
            assertEquals(503, Curl.run("-H", "Host: app.example", proxy.url("/empty")).status);
            List<String> custom = AccessLogFiles.awaitLines(customLog, 3);
            assertEquals(List.of("200 - GET /ok backend t1", "404 NR GET /nothing - -", "503 UH GET /empty empty -"), custom);
            List<String> def = AccessLogFiles.awaitLines(defaultLog, 3);
            assertEquals(3, def.size());
            assertTrue(def.get(0).matches("\\[\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z] \"GET /ok HTTP/1\\.1\" 200 - 0 \\d+ \\d+ \\d+ \"-\" \"curl/[^\"]+\" \"[0-9a-f-]{36}\" \"app\\.example\" \"127\\.0\\.0\\.1:" + backend.port() + "\""),
                    def.get(0));
            assertTrue(def.get(1).contains("\" 404 NR 0 0 "), def.get(1));

            String admin = "http://127.0.0.1:" + proxy.adminPort();
            assertEquals("LIVE\n", Curl.run(admin + "/ready").body);
            String prom = Curl.run(admin + "/stats/prometheus").body;
            assertTrue(prom.contains("envoy_cluster_upstream_rq_total{envoy_cluster_name=\"backend\"} 1"), prom);
            assertTrue(prom.contains("envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix=\"ingress\"} 3"), prom);
            String stats = Curl.run(admin + "/stats").body;
            assertTrue(stats.contains("cluster.backend.upstream_rq_200: 1"), stats);
            String clusters = Curl.run(admin + "/clusters").body;
            assertTrue(clusters.contains("backend::127.0.0.1:" + backend.port() + "::rq_total::1"), clusters);
            String dump = Curl.run(admin + "/config_dump").body;
            assertTrue(dump.contains("\"@type\": \"type.googleapis.com/envoy.admin.v3.ListenersConfigDump\""), dump);
            assertTrue(dump.contains("\"stat_prefix\": \"ingress\""), dump);
            CountDownLatch quit = new CountDownLatch(1);
            proxy.server().onQuit(quit::countDown);
            assertEquals(200, Curl.run("-X", "POST", admin + "/quitquitquit").status);
            assertTrue(quit.await(5, TimeUnit.SECONDS));
        }
    }
}
