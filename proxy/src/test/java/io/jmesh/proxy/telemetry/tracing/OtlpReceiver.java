package io.jmesh.proxy.telemetry.tracing;

import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Collectors;

import com.google.protobuf.ByteString;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.Span;

/**
 * A real OTLP/gRPC trace receiver: a gRPC-Java server on port 0 of 127.0.0.1 implementing OpenTelemetry's
 * {@code TraceService/Export}, keeping every span it receives.
 */
public final class OtlpReceiver implements AutoCloseable {

    private final ConcurrentLinkedQueue<ResourceSpans> received = new ConcurrentLinkedQueue<>();
    private final Server server;

    public OtlpReceiver() throws java.io.IOException {
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(new TraceServiceGrpc.TraceServiceImplBase() {
                    @Override
                    public void export(ExportTraceServiceRequest request,
                                       StreamObserver<ExportTraceServiceResponse> response) {
                        received.addAll(request.getResourceSpansList());
                        response.onNext(ExportTraceServiceResponse.getDefaultInstance());
                        response.onCompleted();
                    }
                }).build().start();
    }

    public int port() {
        return server.getPort();
    }

    /** The spans received so far, by the {@code service.name} of their resource (the last one of each). */
    public Map<String, Span> spansByService() {
        Map<String, Span> m = new HashMap<>();
        for (ResourceSpans rs : received) {
            String service = rs.getResource().getAttributesList().stream()
                    .filter(a -> a.getKey().equals("service.name")).findFirst().orElseThrow()
                    .getValue().getStringValue();
            rs.getScopeSpansList().forEach(ss -> ss.getSpansList().forEach(s -> m.put(service, s)));
        }
        return m;
    }

    /** Every span received so far, in order of arrival. */
    public List<Span> spans() {
        List<Span> out = new java.util.ArrayList<>();
        for (ResourceSpans rs : received) {
            rs.getScopeSpansList().forEach(ss -> out.addAll(ss.getSpansList()));
        }
        return out;
    }

    /** A span's attributes as strings. */
    public static Map<String, String> attributes(Span s) {
        return s.getAttributesList().stream()
                .collect(Collectors.toMap(KeyValue::getKey, kv -> kv.getValue().getStringValue()));
    }

    /** Bytes as lower-case hex. */
    public static String hex(ByteString b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b.toByteArray()) {
            s.append(String.format("%02x", x));
        }
        return s.toString();
    }

    /** An HCM or rpc_proxy {@code tracing} exporting to the {@code otel} cluster as {@code service}. */
    public static String tracing(String service, String fields) {
        return "{ " + fields + " provider: { name: envoy.tracers.opentelemetry, typed_config: "
                + io.jmesh.proxy.testing.Bootstraps.typed("envoy.config.trace.v3.OpenTelemetryConfig",
                "grpc_service: { envoy_grpc: { cluster_name: otel }, timeout: 8s }, service_name: " + service)
                + " } }";
    }

    @Override
    public void close() throws InterruptedException {
        server.shutdownNow().awaitTermination();
    }

    List<ResourceSpans> all() {
        return List.copyOf(received);
    }
}
