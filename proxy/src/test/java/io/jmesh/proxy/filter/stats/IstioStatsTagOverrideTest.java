package io.jmesh.proxy.filter.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.PrometheusText;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/**
 * Istio's metric overrides as the Telemetry API's {@code tagOverrides} become them in {@code stats.PluginConfig}:
 * a new label from a request header, a standard label's value replaced by a CEL expression, a label removed. Real
 * curl through a real proxy; {@code /stats/prometheus} parsed strictly.
 */
class IstioStatsTagOverrideTest {

    static final String STATS = Bootstraps.typed("xds.type.v3.TypedStruct",
            "type_url: type.googleapis.com/stats.PluginConfig, value: { metrics: [ { name: requests_total,"
            + " dimensions: { user: \"request.headers['x-user']\","
            + " response_code: \"string(response.code / 100) + 'xx'\" },"
            + " tags_to_remove: [ source_principal, destination_principal ] } ] }");

    TestBackend backend;
    ProxyFixture proxy;

    @BeforeEach
    void start() throws Exception {
        backend = TestBackend.start("reviews-v1");
        proxy = Bootstraps.http()
                .listener("inbound").listenerOption("traffic_direction", "INBOUND")
                .httpFilter("istio.stats", STATS)
                .route("/", "inbound|9080||")
                .cluster("inbound|9080||", backend.port())
                .start();
    }

    @AfterEach
    void stop() {
        proxy.close();
        backend.close();
    }

    @Test
    void overridesShapeTheLabelsUsersScrape() throws Exception {
        String url = "http://127.0.0.1:" + proxy.port() + "/x";
        assertEquals(200, Curl.run("-H", "x-user: alice", url).status);
        assertEquals(200, Curl.run("-H", "x-user: alice", url).status);
        assertEquals(200, Curl.run(url).status);
        Poll.until(() -> IstioStatsHttpTest.totalOrZero(proxy) == 3, "3 requests recorded");
        PrometheusText text = IstioStatsHttpTest.scrape(proxy);
        Map<String, Double> byUser = new TreeMap<>();
        for (PrometheusText.Sample s : text.samples("istio_requests_total")) {
            assertEquals("2xx", s.labels().get("response_code"), s.toString());
            assertFalse(s.labels().containsKey("source_principal"), s.toString());
            assertFalse(s.labels().containsKey("destination_principal"), s.toString());
            byUser.merge(s.labels().get("user"), s.value(), Double::sum);
            assertEquals(List.of("reporter", "source_workload"), List.copyOf(s.labels().keySet()).subList(0, 2));
        }
        assertEquals(Map.of("alice", 2.0, "unknown", 1.0), byUser);
        // Other metrics keep the standard labels.
        for (PrometheusText.Sample s : text.samples("istio_request_bytes_count")) {
            assertEquals("200", s.labels().get("response_code"), s.toString());
        }
    }
}
