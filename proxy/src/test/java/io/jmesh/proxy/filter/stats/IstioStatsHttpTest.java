package io.jmesh.proxy.filter.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

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
 * Real HTTP traffic through two real proxies, as in a mesh: curl → client sidecar (outbound listener, reporter
 * {@code source}) → server sidecar (inbound listener, reporter {@code destination}) → backend. Both run
 * {@code istio.stats}; their {@code /stats/prometheus} is scraped with curl and parsed strictly.
 */
class IstioStatsHttpTest {

    /** As istiod sends it: a {@code udpa.type.v1.TypedStruct}. */
    static final String STATS = Bootstraps.typed("udpa.type.v1.TypedStruct",
            "type_url: type.googleapis.com/stats.PluginConfig, value: {}");
    static final String SERVICE = "outbound|9080||reviews.default.svc.cluster.local";

    static String node(String id, String name, String workload, String app, String version) {
        return "{ id: \"" + id + "\", metadata: { NAME: " + name + ", NAMESPACE: default, WORKLOAD_NAME: " + workload
                + ", CLUSTER_ID: Kubernetes, LABELS: { app: " + app + ", version: " + version
                + ", service.istio.io/canonical-name: " + app + ", service.istio.io/canonical-revision: " + version
                + " } } }";
    }

    TestBackend backend;
    ProxyFixture server;
    ProxyFixture client;

    @BeforeEach
    void start() throws Exception {
        backend = TestBackend.start("reviews-v1");
        server = Bootstraps.http()
                .bootstrap("node", node("sidecar~127.0.0.2~reviews-v1-1.default~default.svc.cluster.local",
                        "reviews-v1-1", "reviews-v1", "reviews", "v1"))
                .listener("inbound").listenerOption("traffic_direction", "INBOUND")
                .httpFilter("istio.stats", STATS)
                .route("/", "inbound|9080||")
                .cluster("inbound|9080||", backend.port())
                .start();
        client = Bootstraps.http()
                .bootstrap("node", node("sidecar~127.0.0.1~productpage-v1-1.default~default.svc.cluster.local",
                        "productpage-v1-1", "productpage-v1", "productpage", "v1"))
                .listener("outbound").listenerOption("traffic_direction", "OUTBOUND")
                .httpFilter("istio.stats", STATS)
                .route("/", SERVICE)
                .cluster(SERVICE, server.port())
                .start();
    }

    @AfterEach
    void stop() {
        client.close();
        server.close();
        backend.close();
    }

    static PrometheusText scrape(ProxyFixture proxy) throws Exception {
        Curl.Result r = Curl.run("http://127.0.0.1:" + proxy.adminPort() + "/stats/prometheus");
        assertEquals(200, r.status, r.toString());
        return PrometheusText.parse(r.body);
    }

    static Map<String, String> labels(String reporter, String code, String policy, String sourcePrincipal,
                                      String destinationPrincipal) {
        Map<String, String> l = new LinkedHashMap<>();
        l.put("reporter", reporter);
        l.put("source_workload", "productpage-v1");
        l.put("source_workload_namespace", "default");
        l.put("source_principal", sourcePrincipal);
        l.put("source_app", "productpage");
        l.put("source_version", "v1");
        l.put("source_canonical_service", "productpage");
        l.put("source_canonical_revision", "v1");
        l.put("source_cluster", "Kubernetes");
        l.put("destination_workload", "reviews-v1");
        l.put("destination_workload_namespace", "default");
        l.put("destination_principal", destinationPrincipal);
        l.put("destination_app", "reviews");
        l.put("destination_version", "v1");
        l.put("destination_service", "reviews.default.svc.cluster.local");
        l.put("destination_service_name", "reviews");
        l.put("destination_service_namespace", "default");
        l.put("destination_canonical_service", "reviews");
        l.put("destination_canonical_revision", "v1");
        l.put("destination_cluster", "Kubernetes");
        l.put("request_protocol", "http");
        l.put("response_flags", "-");
        l.put("connection_security_policy", policy);
        l.put("response_code", code);
        l.put("grpc_response_status", "");
        return l;
    }

    static Map<Map<String, String>, Double> byLabels(List<PrometheusText.Sample> samples) {
        return samples.stream().collect(Collectors.toMap(PrometheusText.Sample::labels, PrometheusText.Sample::value));
    }

    static double total(PrometheusText text, String name) {
        return text.samples(name).stream().mapToDouble(PrometheusText.Sample::value).sum();
    }

    @Test
    void bothSidecarsReportTheRequestsWithIstiosLabels() throws Exception {
        for (String path : List.of("/a", "/b", "/status/503")) {
            Curl.Result r = Curl.run("-H", "Host: reviews.default.svc.cluster.local:9080", client.url(path));
            assertEquals(path.equals("/status/503") ? 503 : 200, r.status, r.toString());
            assertNull(r.header(WorkloadMetadata.HEADER), "the client never sees the peer metadata: " + r);
            assertNull(r.header(WorkloadMetadata.ID_HEADER), r.toString());
            if (!path.startsWith("/status")) {
                assertFalse(r.body.toLowerCase().contains("x-envoy-peer-metadata"),
                        "the backend never sees the peer metadata: " + r.body);
            }
        }
        Poll.until(() -> totalOrZero(client) == 3 && totalOrZero(server) == 3, "3 requests recorded by each side");

        PrometheusText c = scrape(client);
        assertEquals("counter", c.type("istio_requests_total"));
        assertEquals(Map.of(labels("source", "200", "unknown", "unknown", "unknown"), 2.0,
                        labels("source", "503", "unknown", "unknown", "unknown"), 1.0),
                byLabels(c.samples("istio_requests_total")));
        assertEquals("histogram", c.type("istio_request_duration_milliseconds"));
        assertEquals(Map.of(labels("source", "200", "unknown", "unknown", "unknown"), 2.0,
                        labels("source", "503", "unknown", "unknown", "unknown"), 1.0),
                byLabels(c.samples("istio_request_duration_milliseconds_count")));
        assertEquals(3.0, total(c, "istio_request_bytes_count"));
        assertEquals(3.0, total(c, "istio_response_bytes_count"));
        assertTrue(c.samples("istio_request_messages_total").isEmpty(), "no gRPC, no message counts");
        List<String> les = c.samples("istio_request_duration_milliseconds_bucket").stream()
                .map(s -> s.labels().get("le")).distinct().toList();
        assertEquals(List.of("0.5", "1", "5", "10", "25", "50", "100", "250", "500", "1000", "2500", "5000", "10000",
                "30000", "60000", "300000", "600000", "1800000", "3600000", "+Inf"), les);

        PrometheusText s = scrape(server);
        assertEquals(Map.of(labels("destination", "200", "none", "unknown", "unknown"), 2.0,
                        labels("destination", "503", "none", "unknown", "unknown"), 1.0),
                byLabels(s.samples("istio_requests_total")));
    }

    @Test
    void aPeerWithoutMetadataIsUnknown() throws Exception {
        // Straight to the server sidecar: no client sidecar sends metadata.
        Curl.Result r = Curl.run("-H", "Host: reviews.default.svc.cluster.local", "http://127.0.0.1:" + server.port() + "/x");
        assertEquals(200, r.status);
        assertTrue(r.header(WorkloadMetadata.HEADER) != null, "the server sidecar sends its metadata: " + r);
        assertEquals("sidecar~127.0.0.2~reviews-v1-1.default~default.svc.cluster.local",
                r.header(WorkloadMetadata.ID_HEADER));
        Poll.until(() -> totalOrZero(server) == 1, "1 request recorded");
        Map<String, String> l = labels("destination", "200", "none", "unknown", "unknown");
        for (String k : List.of("source_workload", "source_workload_namespace", "source_app", "source_version",
                "source_canonical_service", "source_canonical_revision", "source_cluster")) {
            l.put(k, "unknown");
        }
        assertEquals(Map.of(l, 1.0), byLabels(scrape(server).samples("istio_requests_total")));
    }

    @Test
    void aServerSidecarReportsItsOwnNamespaceAndWithoutAHostItsOwnService() throws Exception {
        Curl.Result r = Curl.run("--http1.0", "-H", "Host:", "http://127.0.0.1:" + server.port() + "/x");
        assertEquals(200, r.status, r.toString());
        r = Curl.run("-H", "Host: reviews.other.svc.cluster.local", "http://127.0.0.1:" + server.port() + "/x");
        assertEquals(200, r.status, r.toString());
        Poll.until(() -> totalOrZero(server) == 2, "2 requests recorded");
        Map<String, String> noHost = labels("destination", "200", "none", "unknown", "unknown");
        for (String k : List.of("source_workload", "source_workload_namespace", "source_app", "source_version",
                "source_canonical_service", "source_canonical_revision", "source_cluster")) {
            noHost.put(k, "unknown");
        }
        Map<String, String> otherHost = new java.util.LinkedHashMap<>(noHost);
        // Istio's stats filter: destination_service falls back to the workload's canonical service
        noHost.put("destination_service", "reviews");
        noHost.put("destination_service_name", "reviews");
        // ... and a server sidecar's destination_service_namespace is its own
        otherHost.put("destination_service", "reviews.other.svc.cluster.local");
        otherHost.put("destination_service_namespace", "default");
        assertEquals(Map.of(noHost, 1.0, otherHost, 1.0), byLabels(scrape(server).samples("istio_requests_total")));
    }

    static double totalOrZero(ProxyFixture proxy) {
        try {
            return total(scrape(proxy), "istio_requests_total");
        } catch (Exception e) {
            return -1;
        }
    }
}
