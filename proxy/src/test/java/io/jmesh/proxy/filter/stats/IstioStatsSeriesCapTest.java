package io.jmesh.proxy.filter.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.jmesh.proxy.telemetry.TaggedMetrics;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.PrometheusText;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/**
 * The per-family cap on series ({@code jmesh proxy --max-series-per-metric}) holds for Istio's metrics under real
 * traffic: curl sends requests whose path is a label ({@code dimensions: { path: request.path }}); past the cap a new
 * path is not recorded and counts in {@code istio_stats_dropped_series_total}, and the paths already recorded keep
 * counting.
 */
class IstioStatsSeriesCapTest {

    static final String STATS = Bootstraps.typed("udpa.type.v1.TypedStruct",
            "type_url: type.googleapis.com/stats.PluginConfig, value: { metrics: [ { dimensions: { path: request.path } } ] }");

    TestBackend backend;
    ProxyFixture proxy;

    @BeforeEach
    void start() throws Exception {
        backend = TestBackend.start("reviews-v1");
        proxy = Bootstraps.http()
                .listener("outbound").listenerOption("traffic_direction", "OUTBOUND")
                .httpFilter("istio.stats", STATS)
                .route("/", IstioStatsHttpTest.SERVICE)
                .cluster(IstioStatsHttpTest.SERVICE, backend.port())
                .start();
        proxy.server().stats().tagged().maxSeriesPerMetric(3);
    }

    @AfterEach
    void stop() {
        proxy.close();
        backend.close();
    }

    @Test
    void newLabelSetsPastTheCapAreDroppedAndCountedWhileKnownOnesKeepCounting() throws Exception {
        for (String path : List.of("/p1", "/p2", "/p3", "/p4", "/p5", "/p1", "/p1")) {
            assertEquals(200, Curl.run(proxy.url(path)).status, path);
        }
        Poll.until(() -> IstioStatsHttpTest.totalOrZero(proxy) == 5, "5 requests recorded (3 paths within the cap)");

        PrometheusText text = IstioStatsHttpTest.scrape(proxy);
        Map<String, Double> byPath = new HashMap<>();
        for (PrometheusText.Sample s : text.samples("istio_requests_total")) {
            byPath.put(s.labels().get("path"), s.value());
        }
        assertEquals(Map.of("/p1", 3.0, "/p2", 1.0, "/p3", 1.0), byPath);
        Map<String, Double> dropped = new HashMap<>();
        for (PrometheusText.Sample s : text.samples(TaggedMetrics.DROPPED_SERIES)) {
            dropped.put(s.labels().get("metric"), s.value());
        }
        // /p4 and /p5 in each of the four request families (the path is a label of all of them).
        assertEquals(Map.of("istio_requests_total", 2.0, "istio_request_duration_milliseconds", 2.0,
                "istio_request_bytes", 2.0, "istio_response_bytes", 2.0), dropped);
        assertEquals(3, text.samples("istio_request_duration_milliseconds_count").size());
    }
}
