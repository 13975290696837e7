package io.jmesh.proxy.filter.fault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.testing.AccessLogFiles;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/** {@code envoy.filters.http.fault} through a real proxy: aborts, delays, percentages, per-route override. */
class FaultFilterTest {

    private static final String FAULT = "envoy.filters.http.fault";

    /** A fault filter whose own config aborts with {@code defaultAbort}, and routes that override it. */
    static Bootstraps config(int backend, Path log, int defaultAbort) {
        return Bootstraps.http()
                .accessLog(log, "%RESPONSE_CODE% %RESPONSE_FLAGS% %REQ(:PATH)%")
                .httpFilter(FAULT, fault("abort: { http_status: " + defaultAbort + ", percentage: { numerator: 100 } }"))
                .route("/abort", "backend", FAULT, fault("abort: { http_status: 503, percentage: { numerator: 100 } }"))
                .route("/half", "backend", FAULT,
                        fault("abort: { http_status: 500, percentage: { numerator: 5000, denominator: TEN_THOUSAND } }"))
                .route("/none", "backend", FAULT, fault(""))
                .route("/delay", "backend", FAULT, fault("delay: { fixed_delay: 0.1s, percentage: { numerator: 100 } }"))
                .route("/hold", "backend", FAULT, fault("delay: { fixed_delay: 3600s, percentage: { numerator: 100 } }"))
                .route("/header", "backend", FAULT, fault("abort: { header_abort: {}, percentage: { numerator: 100 } }"))
                .route("/grpc", "backend", FAULT, fault("abort: { grpc_status: 14, percentage: { numerator: 100 } }"))
                .route("/", "backend")
                .cluster("backend", backend);
    }

    private static String fault(String fields) {
        return Bootstraps.typed("envoy.extensions.filters.http.fault.v3.HTTPFault", fields);
    }

    @Test
    void abortsDelaysAndPerRouteOverride(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("access.log");
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = config(backend.port(), log, 418).start(2)) {
            Curl.Result abort = Curl.run(proxy.url("/abort"));
            assertEquals(503, abort.status);
            assertEquals("fault filter abort", abort.body);
            assertEquals(418, Curl.run(proxy.url("/default")).status, "the filter-level config applies without a route's");
            assertEquals(200, Curl.run(proxy.url("/none")).status, "an empty per-route HTTPFault overrides the default");
            assertEquals(200, Curl.run(proxy.url("/header")).status, "header_abort without the header does nothing");
            assertEquals(429, Curl.run("-H", "x-envoy-fault-abort-request: 429", proxy.url("/header")).status);
            Curl.Result grpc = Curl.run(proxy.url("/grpc"));
            assertEquals(200, grpc.status);
            assertEquals("14", grpc.header("grpc-status"));
            assertEquals(200, Curl.run(proxy.url("/delay")).status);
            assertEquals(1, backend.byPath.get("/delay").get());
            assertNull(backend.byPath.get("/abort"), "an aborted request never reaches the upstream");
            assertEquals(List.of("503 FI /abort", "418 FI /default", "200 - /none", "200 - /header", "429 FI /header",
                    "200 FI /grpc", "200 DI /delay"), AccessLogFiles.awaitLines(log, 7));
            assertEquals(1, proxy.counter("http.ingress.fault.delays_injected"));
            assertEquals(4, proxy.counter("http.ingress.fault.aborts_injected"));
        }
    }

    @Test
    void fiftyPercentAbortsAboutHalf(@TempDir Path dir) throws Exception {
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = config(backend.port(), dir.resolve("l"), 418).start(2)) {
            int n = 400;
            String[] args = new String[n * 2];
            for (int i = 0; i < n; i++) {
                args[2 * i] = proxy.url("/half");
                args[2 * i + 1] = i == n - 1 ? "-s" : "--next";
            }
            Curl.run(args);
            // The abort is counted when its stream ends, which may be just after curl has the reply.
            Poll.until(() -> proxy.counter("http.ingress.fault.aborts_injected") + backend.byPath.get("/half").get() == n,
                    "every request either aborted or at the backend");
            int aborted = (int) proxy.counter("http.ingress.fault.aborts_injected");
            // Binomial(400, 0.5): sd 10; six sd either side fails once in ~10^9 runs.
            assertTrue(aborted > 140 && aborted < 260, "aborted " + aborted + " of " + n);
            assertEquals(n - aborted, backend.byPath.get("/half").get());
            assertEquals(aborted, proxy.counter("http.ingress.downstream_rq_5xx"));
        }
    }

    @Test
    void delayHoldsTheRequestAndAResetCancelsIt(@TempDir Path dir) throws Exception {
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = config(backend.port(), dir.resolve("l"), 418).start(2)) {
            try (Socket s = new Socket("127.0.0.1", proxy.port())) {
                OutputStream out = s.getOutputStream();
                out.write("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                Poll.until(() -> proxy.counter("http.ingress.fault.delays_injected") == 1, "delay injected");
                assertEquals(1, proxy.gauge("http.ingress.fault.active_faults"));
                assertNull(backend.byPath.get("/hold"), "the upstream sees nothing while the delay is pending");
            }
            Poll.until(() -> proxy.gauge("http.ingress.downstream_rq_active") == 0, "stream ended");
            assertEquals(0, proxy.gauge("http.ingress.fault.active_faults"));
            assertNull(backend.byPath.get("/hold"), "a reset during the delay never reaches the upstream");
            assertEquals(0, backend.requests.get());
        }
    }

    @Test
    void invalidAbortStatusIsAConfigError() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> config(1, Path.of("/dev/null"), 700).start(2));
        assertTrue(e.getMessage().contains("http_filters[0].typed_config.abort.http_status: 700 (expected: 200..599)"),
                e.getMessage());
    }
}
