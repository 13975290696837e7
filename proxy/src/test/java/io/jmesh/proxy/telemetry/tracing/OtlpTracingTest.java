package io.jmesh.proxy.telemetry.tracing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.google.protobuf.ByteString;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.Span;
import io.opentelemetry.proto.trace.v1.Status;

/**
 * A two-hop trace exported over OTLP/gRPC: curl -> sidecar A (OUTBOUND) -> sidecar B (INBOUND) -> backend, both
 * sidecars sending to a real gRPC-Java server implementing OpenTelemetry's {@code TraceService}, reached through
 * their {@code otel} cluster.
 */
class OtlpTracingTest {

    final ConcurrentLinkedQueue<ResourceSpans> received = new ConcurrentLinkedQueue<>();
    Server collector;
    TestBackend backend;
    ProxyFixture inbound;
    ProxyFixture outbound;

    @BeforeEach
    void start() throws Exception {
        collector = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(new TraceServiceGrpc.TraceServiceImplBase() {
                    @Override
                    public void export(ExportTraceServiceRequest request,
                                       StreamObserver<ExportTraceServiceResponse> response) {
                        received.addAll(request.getResourceSpansList());
                        response.onNext(ExportTraceServiceResponse.getDefaultInstance());
                        response.onCompleted();
                    }
                }).build().start();
        backend = TestBackend.start("reviews");
        inbound = Bootstraps.http()
                .bootstrap("node", "{ id: reviews-node, cluster: reviews.default }")
                .listener("inbound").listenerOption("traffic_direction", "INBOUND")
                .hcm("tracing", otelTracing("reviews.default", "custom_tags: [{ tag: team, literal: { value: books } },"
                        + " { tag: user, request_header: { name: x-user, default_value: nobody } }],"))
                .route("/", "inbound|9080||")
                .cluster("inbound|9080||", backend.port())
                .http2Cluster("otel", collector.getPort())
                .start();
        outbound = Bootstraps.http()
                .bootstrap("node", "{ id: productpage-node, cluster: productpage.default }")
                .listener("outbound").listenerOption("traffic_direction", "OUTBOUND")
                .hcm("tracing", otelTracing("productpage.default", ""))
                .route("/", "reviews")
                .cluster("reviews", inbound.port())
                .http2Cluster("otel", collector.getPort())
                .start();
    }

    static String otelTracing(String service, String hcmFields) {
        return "{ " + hcmFields + " provider: { name: envoy.tracers.opentelemetry, typed_config: "
                + Bootstraps.typed("envoy.config.trace.v3.OpenTelemetryConfig",
                "grpc_service: { envoy_grpc: { cluster_name: otel }, timeout: 2s }, service_name: " + service)
                + " } }";
    }

    @AfterEach
    void stop() throws Exception {
        outbound.close();
        inbound.close();
        backend.close();
        collector.shutdownNow().awaitTermination();
    }

    static String hex(ByteString b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b.toByteArray()) {
            s.append(String.format("%02x", x));
        }
        return s.toString();
    }

    static Map<String, String> attributes(Span s) {
        return s.getAttributesList().stream()
                .collect(Collectors.toMap(KeyValue::getKey, kv -> kv.getValue().getStringValue()));
    }

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

    /** The spans received so far, by service.name. */
    Map<String, Span> spansByService() {
        Map<String, Span> m = new HashMap<>();
        for (ResourceSpans rs : received) {
            String service = rs.getResource().getAttributesList().stream()
                    .filter(a -> a.getKey().equals("service.name")).findFirst().orElseThrow()
                    .getValue().getStringValue();
            rs.getScopeSpansList().forEach(ss -> ss.getSpansList().forEach(s -> m.put(service, s)));
        }
        return m;
    }

    @Test
    void twoHopTraceOverOtlpWithW3cContext() throws Exception {
        String caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        Map<String, String> seen = seenHeaders(Curl.run("-H", "traceparent: " + caller, "-H", "tracestate: congo=t61",
                "-H", "x-user: alice", "http://127.0.0.1:" + outbound.port() + "/reviews/2"));
        Poll.until(() -> spansByService().size() == 2, "a span from each sidecar at the OTLP receiver");
        Span client = spansByService().get("productpage.default");
        Span server = spansByService().get("reviews.default");

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
        Curl.Result r = Curl.run("-H", "x-envoy-force-trace: 1", "http://127.0.0.1:" + outbound.port() + "/status/500");
        assertEquals(500, r.status, r.toString());
        Poll.until(() -> spansByService().size() == 2, "a span from each sidecar at the OTLP receiver");
        Span server = spansByService().get("reviews.default");
        assertEquals(Status.StatusCode.STATUS_CODE_ERROR, server.getStatus().getCode());
        assertEquals("nobody", attributes(server).get("user"), "a request_header tag falls back to its default");
        assertEquals(List.of("true", "500"),
                List.of(attributes(server).get("error"), attributes(server).get("http.status_code")));
    }
}
