package io.jmesh.proxy.filter.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.PrometheusText;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/**
 * TCP through two real proxies with {@code istio.stats} before {@code tcp_proxy}: curl → client sidecar (outbound) →
 * server sidecar (inbound) → backend. The byte counters equal what curl says it sent and received.
 */
class IstioStatsTcpTest {

    static Map<String, String> labels(String reporter, String policy, String service) {
        Map<String, String> l = new LinkedHashMap<>();
        l.put("reporter", reporter);
        boolean server = reporter.equals("destination");
        l.put("source_workload", server ? "unknown" : "productpage-v1");
        l.put("source_workload_namespace", server ? "unknown" : "default");
        l.put("source_principal", "unknown");
        l.put("source_app", server ? "unknown" : "productpage");
        l.put("source_version", server ? "unknown" : "v1");
        l.put("source_canonical_service", server ? "unknown" : "productpage");
        l.put("source_canonical_revision", server ? "unknown" : "v1");
        l.put("source_cluster", server ? "unknown" : "Kubernetes");
        l.put("destination_workload", server ? "reviews-v1" : "unknown");
        l.put("destination_workload_namespace", server ? "default" : "unknown");
        l.put("destination_principal", "unknown");
        l.put("destination_app", server ? "reviews" : "unknown");
        l.put("destination_version", server ? "v1" : "unknown");
        // a server sidecar with no service to go by names its own canonical service, in its namespace (Istio's)
        l.put("destination_service", service);
        l.put("destination_service_name", "reviews");
        l.put("destination_service_namespace", "default");
        l.put("destination_canonical_service", server ? "reviews" : "unknown");
        l.put("destination_canonical_revision", server ? "v1" : "unknown");
        l.put("destination_cluster", server ? "Kubernetes" : "unknown");
        l.put("request_protocol", "tcp");
        l.put("response_flags", "-");
        l.put("connection_security_policy", policy);
        return l;
    }

    @Test
    void connectionsAndBytesAreCountedOnBothSides() throws Exception {
        String stats = Bootstraps.typedStruct("stats.PluginConfig", "{}");
        String service = IstioStatsHttpTest.SERVICE;
        try (TestBackend backend = TestBackend.start("reviews-v1");
             ProxyFixture server = Bootstraps.tcp("inbound|9080||")
                     .bootstrap("node", IstioStatsHttpTest.node("sidecar~127.0.0.2~r.default~default.svc.cluster.local",
                             "reviews-v1-1", "reviews-v1", "reviews", "v1"))
                     .listenerOption("traffic_direction", "INBOUND")
                     .networkFilter("istio.stats", stats)
                     .cluster("inbound|9080||", backend.port())
                     .start();
             ProxyFixture client = Bootstraps.tcp(service)
                     .bootstrap("node", IstioStatsHttpTest.node("sidecar~127.0.0.1~p.default~default.svc.cluster.local",
                             "productpage-v1-1", "productpage-v1", "productpage", "v1"))
                     .listenerOption("traffic_direction", "OUTBOUND")
                     .networkFilter("istio.stats", stats)
                     .cluster(service, server.port())
                     .start()) {
            Process p = new ProcessBuilder("curl", "-s", "-o", "/dev/null", "--max-time", "20", "-w",
                    "%{http_code} %{size_request} %{size_header} %{size_download}",
                    "http://127.0.0.1:" + client.port() + "/hello").start();
            String[] w = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim().split(" ");
            assertEquals(0, p.waitFor());
            assertEquals("200", w[0]);
            double requestBytes = Double.parseDouble(w[1]);
            double responseBytes = Double.parseDouble(w[2]) + Double.parseDouble(w[3]);

            Poll.until(() -> closed(client) == 1 && closed(server) == 1, "the connection closed on both sides");
            Map<String, String> c = labels("source", "unknown", "reviews.default.svc.cluster.local");
            PrometheusText ct = IstioStatsHttpTest.scrape(client);
            assertEquals(Map.of(c, 1.0), IstioStatsHttpTest.byLabels(ct.samples("istio_tcp_connections_opened_total")));
            assertEquals(Map.of(c, 1.0), IstioStatsHttpTest.byLabels(ct.samples("istio_tcp_connections_closed_total")));
            assertEquals(Map.of(c, requestBytes), IstioStatsHttpTest.byLabels(ct.samples("istio_tcp_received_bytes_total")));
            assertEquals(Map.of(c, responseBytes), IstioStatsHttpTest.byLabels(ct.samples("istio_tcp_sent_bytes_total")));

            // The inbound cluster names no service, and TCP has no Host header: the service is unknown.
            Map<String, String> s = labels("destination", "none", "reviews");
            PrometheusText st = IstioStatsHttpTest.scrape(server);
            assertEquals(Map.of(s, 1.0), IstioStatsHttpTest.byLabels(st.samples("istio_tcp_connections_opened_total")));
            assertEquals(Map.of(s, requestBytes), IstioStatsHttpTest.byLabels(st.samples("istio_tcp_received_bytes_total")));
            assertEquals(Map.of(s, responseBytes), IstioStatsHttpTest.byLabels(st.samples("istio_tcp_sent_bytes_total")));
        }
    }

    static double closed(ProxyFixture proxy) {
        try {
            return IstioStatsHttpTest.total(IstioStatsHttpTest.scrape(proxy), "istio_tcp_connections_closed_total");
        } catch (Exception e) {
            return -1;
        }
    }
}
