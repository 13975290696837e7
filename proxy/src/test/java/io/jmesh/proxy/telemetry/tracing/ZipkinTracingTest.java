package io.jmesh.proxy.telemetry.tracing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/**
 * A two-hop trace through two sidecars into a real Zipkin server: curl -> sidecar A (OUTBOUND listener, egress
 * span) -> sidecar B (INBOUND listener, ingress span) -> backend, both exporting Zipkin v2 JSON through their
 * {@code zipkin} cluster; the trace is read back with Zipkin's query API.
 */
class ZipkinTracingTest {

    static ZipkinServer zipkin;
    TestBackend backend;
    ProxyFixture inbound;
    ProxyFixture outbound;

    @BeforeAll
    static void startZipkin() throws Exception {
        zipkin = ZipkinServer.start();
    }

    @AfterAll
    static void stopZipkin() throws Exception {
        if (zipkin != null) {
            zipkin.close();
        }
    }

    @AfterEach
    void stop() {
        if (outbound != null) {
            outbound.close();
        }
        if (inbound != null) {
            inbound.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    static String zipkinTracing(String zipkinFields, String hcmFields) {
        return "{ " + hcmFields + " provider: { name: envoy.tracers.zipkin, typed_config: "
                + Bootstraps.typed("envoy.config.trace.v3.ZipkinConfig", "collector_cluster: zipkin, "
                + "collector_endpoint: /api/v2/spans, collector_endpoint_version: HTTP_JSON" + zipkinFields) + " } }";
    }

    void startMesh(String zipkinFields) throws Exception {
        backend = TestBackend.start("reviews");
        inbound = Bootstraps.http()
                .bootstrap("node", "{ id: sidecar~127.0.0.2~reviews-1.default~default.svc.cluster.local, cluster: reviews.default }")
                .listener("inbound").listenerOption("traffic_direction", "INBOUND")
                .hcm("tracing", zipkinTracing(zipkinFields, ""))
                .route("/", "inbound|9080||")
                .cluster("inbound|9080||", backend.port())
                .cluster("zipkin", zipkin.port())
                .start();
        outbound = Bootstraps.http()
                .bootstrap("node", "{ id: sidecar~127.0.0.1~productpage-1.default~default.svc.cluster.local, cluster: productpage.default }")
                .listener("outbound").listenerOption("traffic_direction", "OUTBOUND")
                .hcm("tracing", zipkinTracing(zipkinFields, ""))
                .route("/", "outbound|9080||reviews.default.svc.cluster.local")
                .cluster("outbound|9080||reviews.default.svc.cluster.local", inbound.port())
                .cluster("zipkin", zipkin.port())
                .start();
    }

    /** The request headers the backend saw, from its echo. */
    static Map<String, String> seenHeaders(Curl.Result r) {
        assertEquals(200, r.status, r.toString());
        Map<String, String> h = new HashMap<>();
        for (String line : r.body.split("\n")) {
            if (line.startsWith("header ")) {
                int eq = line.indexOf('=');
                h.put(line.substring(7, eq), line.substring(eq + 1));
            }
        }
        return h;
    }

    static JsonNode byKind(List<JsonNode> spans, String kind) {
        return spans.stream().filter(s -> s.path("kind").asText().equals(kind)).findFirst().orElseThrow();
    }

    List<JsonNode> awaitSpans(String traceId, int count) throws InterruptedException {
        Poll.until(() -> zipkin.trace(traceId).size() >= count, count + " spans of trace " + traceId + " in Zipkin");
        return zipkin.trace(traceId);
    }

    @Test
    void twoHopTraceHasAClientSpanAndItsChildServerSpan() throws Exception {
        startMesh(", shared_span_context: false");
        Curl.Result r = Curl.run("http://127.0.0.1:" + outbound.port() + "/reviews/1");
        Map<String, String> seen = seenHeaders(r);
        String traceId = seen.get("x-b3-traceid");
        String requestId = seen.get("x-request-id");
        assertEquals("1", seen.get("x-b3-sampled"));
        assertEquals('9', requestId.charAt(14), "x-request-id marks the sampled decision: " + requestId);

        List<JsonNode> spans = awaitSpans(traceId, 2);
        assertEquals(2, spans.size(), spans.toString());
        JsonNode client = byKind(spans, "CLIENT");
        JsonNode server = byKind(spans, "SERVER");
        assertTrue(client.path("parentId").isMissingNode(), "the egress span is the root: " + client);
        assertEquals(client.path("id").asText(), server.path("parentId").asText(), "ingress is the egress span's child");
        assertEquals(server.path("id").asText(), seen.get("x-b3-spanid"), "the backend's parent is the ingress span");
        assertEquals(client.path("id").asText(), seen.get("x-b3-parentspanid"));

        assertEquals("egress 127.0.0.1:" + outbound.port(), client.path("name").asText());
        assertEquals("ingress", server.path("name").asText());
        assertEquals("productpage.default", client.path("localEndpoint").path("serviceName").asText());
        assertEquals("reviews.default", server.path("localEndpoint").path("serviceName").asText());

        JsonNode ct = client.path("tags");
        assertEquals("outbound|9080||reviews.default.svc.cluster.local", ct.path("upstream_cluster").asText());
        assertEquals("200", ct.path("http.status_code").asText());
        assertEquals("proxy", ct.path("component").asText());
        assertEquals("sidecar~127.0.0.1~productpage-1.default~default.svc.cluster.local", ct.path("node_id").asText());
        assertEquals(requestId, ct.path("guid:x-request-id").asText());
        assertEquals("GET", ct.path("http.method").asText());
        assertEquals("http://127.0.0.1:" + outbound.port() + "/reviews/1", ct.path("http.url").asText());
        JsonNode st = server.path("tags");
        assertEquals("inbound|9080||", st.path("upstream_cluster").asText());
        assertEquals("200", st.path("http.status_code").asText());
        assertEquals("sidecar~127.0.0.2~reviews-1.default~default.svc.cluster.local", st.path("node_id").asText());
        assertEquals(requestId, st.path("guid:x-request-id").asText(), "both hops tag the same request id");
        assertFalse(st.has("error"));
    }

    @Test
    void sharedSpanContextContinuesTheCallersTraceWithOneSpanIdPerHopPair() throws Exception {
        startMesh(", trace_id_128bit: true");
        String callerTrace = "463ac35c9f6413ad48485a3953bb6124";
        String callerSpan = "a2fb4a1d1a96d312";
        Curl.Result r = Curl.run("-H", "x-b3-traceid: " + callerTrace, "-H", "x-b3-spanid: " + callerSpan,
                "-H", "x-b3-sampled: 1", "http://127.0.0.1:" + outbound.port() + "/status/503");
        assertEquals(503, r.status, r.toString());

        List<JsonNode> spans = awaitSpans(callerTrace, 2);
        JsonNode client = byKind(spans, "CLIENT");
        JsonNode server = byKind(spans, "SERVER");
        assertEquals(callerSpan, client.path("parentId").asText(), "the egress span continues the caller's trace");
        assertEquals(client.path("id").asText(), server.path("id").asText(), "Zipkin's shared span: one id for both sides");
        assertTrue(server.path("shared").asBoolean(), server.toString());
        assertEquals(callerSpan, server.path("parentId").asText());
        assertEquals("503", server.path("tags").path("http.status_code").asText());
        assertEquals("true", server.path("tags").path("error").asText());
        assertEquals("true", client.path("tags").path("error").asText());
    }

    @Test
    void unsampledRequestsPropagateTheDecisionAndReportNothing() throws Exception {
        startMesh("");
        Curl.Result r = Curl.run("-H", "x-b3-sampled: 0", "http://127.0.0.1:" + outbound.port() + "/unsampled");
        Map<String, String> seen = seenHeaders(r);
        assertEquals("0", seen.get("x-b3-sampled"), "both hops pass the caller's decision on");
        String traceId = seen.get("x-b3-traceid");
        // a sampled request sent afterwards through the same proxies shows up, the unsampled one never does
        Map<String, String> later = seenHeaders(Curl.run("http://127.0.0.1:" + outbound.port() + "/sampled"));
        awaitSpans(later.get("x-b3-traceid"), 2);
        assertEquals(List.of(), zipkin.trace(traceId));
        assertEquals(0, outbound.counter("tracing.zipkin.spans_dropped"));
    }
}
