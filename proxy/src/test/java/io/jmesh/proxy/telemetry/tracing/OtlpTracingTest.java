package io.jmesh.proxy.telemetry.tracing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static io.jmesh.proxy.telemetry.tracing.OtlpReceiver.attributes;
import static io.jmesh.proxy.telemetry.tracing.OtlpReceiver.hex;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;

/**
 * A two-hop trace exported over OTLP/gRPC: curl -> sidecar A (OUTBOUND) -> sidecar B (INBOUND) -> backend, both
 * sidecars sending to a real gRPC-Java server implementing OpenTelemetry's {@code TraceService}, reached through
 * their {@code otel} cluster.
 */
class OtlpTracingTest {

    OtlpReceiver collector;
    TestBackend backend;
    ProxyFixture inbound;
    ProxyFixture outbound;

    @BeforeEach
    void start() throws Exception {
        collector = new OtlpReceiver();
        backend = TestBackend.start("reviews");
        inbound = Bootstraps.http()
                .bootstrap("node", "{ id: reviews-node, cluster: reviews.default }")
                .listener("inbound").listenerOption("traffic_direction", "INBOUND")
                .hcm("tracing", OtlpReceiver.tracing("reviews.default", "custom_tags: [{ tag: team, literal: { value: books } },"
                        + " { tag: user, request_header: { name: x-user, default_value: nobody } }],"))
                .routeYaml("{ match: { prefix: \"/decorated\" }, route: { cluster: \"inbound|9080||\" },"
                        + " decorator: { operation: \"reviews.default.svc.cluster.local:9080/*\" } }")
                .route("/", "inbound|9080||")
                .cluster("inbound|9080||", backend.port())
                .http2Cluster("otel", collector.port())
                .start();
        outbound = Bootstraps.http()
                .bootstrap("node", "{ id: productpage-node, cluster: productpage.default }")
                .listener("outbound").listenerOption("traffic_direction", "OUTBOUND")
                .hcm("tracing", OtlpReceiver.tracing("productpage.default", ""))
                .route("/", "reviews")
                .cluster("reviews", inbound.port())
                .http2Cluster("otel", collector.port())
                .start();
    }

    @AfterEach
    void stop() throws Exception {
        outbound.close();
        inbound.close();
        backend.close();
        collector.close();
    }

    @Test
    void twoHopTraceOverOtlpWithW3cContext() throws Exception {
        String caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        Map<String, String> seen = ZipkinTracingTest.seenHeaders(Curl.run("-H", "traceparent: " + caller,
                "-H", "tracestate: congo=t61", "-H", "x-user: alice", "http://127.0.0.1:" + outbound.port() + "/reviews/2"));
        Poll.until(() -> collector.spansByService().size() == 2, "a span from each sidecar at the OTLP receiver");
        Span client = collector.spansByService().get("productpage.default");
        Span server = collector.spansByService().get("reviews.default");

        assertEquals("0af7651916cd43dd8448eb211c80319c", hex(client.getTraceId()));
        assertEquals("b7ad6b7169203331", hex(client.getParentSpanId()), "the egress span continues the caller's");
        assertEquals(hex(client.getTraceId()), hex(server.getTraceId()));
        assertEquals(hex(client.getSpanId()), hex(server.getParentSpanId()), "ingress is the egress span's child");
        assertEquals("00-0af7651916cd43dd8448eb211c80319c-" + hex(server.getSpanId()) + "-01", seen.get("traceparent"),
                "the backend's parent is the ingress span");
        assertEquals("congo=t61", seen.get("tracestate"));
        assertEquals("congo=t61", server.getTraceState());

        assertEquals(Span.SpanKind.SPAN_KIND_CLIENT, client.getKind());
        assertEquals(Span.SpanKind.SPAN_KIND_SERVER, server.getKind());
        assertEquals("egress 127.0.0.1:" + outbound.port(), client.getName());
        assertEquals("ingress", server.getName());
        assertTrue(client.getEndTimeUnixNano() > client.getStartTimeUnixNano());

        Map<String, String> ca = attributes(client);
        assertEquals("reviews", ca.get("upstream_cluster"));
        assertEquals("200", ca.get("http.status_code"));
        assertEquals("productpage-node", ca.get("node_id"));
        assertEquals("proxy", ca.get("component"));
        assertEquals(seen.get("x-request-id"), ca.get("guid:x-request-id"));
        Map<String, String> sa = attributes(server);
        assertEquals("inbound|9080||", sa.get("upstream_cluster"));
        assertEquals("books", sa.get("team"));
        assertEquals("alice", sa.get("user"));
        assertEquals(Status.StatusCode.STATUS_CODE_UNSET, server.getStatus().getCode());
    }

    @Test
    void failedRequestsAreErrorSpans() throws Exception {
        Curl.Result r = Curl.run("-H", "x-envoy-force-trace: 1", "-H", TracingSamplingTest.INTERNAL_CLIENT,
                "http://127.0.0.1:" + outbound.port() + "/status/500");
        assertEquals(500, r.status, r.toString());
        Poll.until(() -> collector.spansByService().size() == 2, "a span from each sidecar at the OTLP receiver");
        Span server = collector.spansByService().get("reviews.default");
        assertEquals(Status.StatusCode.STATUS_CODE_ERROR, server.getStatus().getCode());
        assertEquals("nobody", attributes(server).get("user"), "a request_header tag falls back to its default");
        assertEquals(List.of("true", "500"),
                List.of(attributes(server).get("error"), attributes(server).get("http.status_code")));
    }

    @Test
    void aRouteDecoratorNamesTheSpan() throws Exception {
        ZipkinTracingTest.seenHeaders(Curl.run("http://127.0.0.1:" + outbound.port() + "/decorated/1"));
        Poll.until(() -> collector.spansByService().size() == 2, "a span from each sidecar at the OTLP receiver");
        assertEquals("reviews.default.svc.cluster.local:9080/*", collector.spansByService().get("reviews.default").getName());
        assertEquals("egress 127.0.0.1:" + outbound.port(), collector.spansByService().get("productpage.default").getName());
    }
}
