package io.jmesh.proxy.telemetry.tracing;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import com.google.protobuf.ByteString;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.upstream.ClusterManager;
import io.jmesh.proxy.upstream.Host;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.InstrumentationScope;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.resource.v1.Resource;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Status;

/**
 * Sends spans over OTLP/gRPC ({@code opentelemetry.proto.collector.trace.v1.TraceService/Export}) with gRPC-Java
 * (plaintext HTTP/2) to a host that the {@code grpc_service.envoy_grpc.cluster_name} cluster's load balancer picks
 * per report. The resource carries {@code service.name} (OpenTelemetryConfig's {@code service_name}); span tags become
 * string attributes; an {@code error} span gets status ERROR. Channels are shared per host address and idle out after
 * five minutes. Thread-safe.
 */
final class OtlpExporter extends BatchingExporter {

    private static final org.slf4j.Logger logger = org.slf4j.LoggerFactory.getLogger(OtlpExporter.class);
    private static final Map<InetSocketAddress, ManagedChannel> CHANNELS = new ConcurrentHashMap<>();
    /** The instrumentation scope Envoy reports its spans under. */
    static final String SCOPE_NAME = "envoy";

    private final Resource resource;
    private final long timeoutMs;

    OtlpExporter(Supplier<ClusterManager> clusters, String cluster, String serviceName, long timeoutMs, Stats stats) {
        super(clusters, cluster, stats, "opentelemetry");
        this.timeoutMs = timeoutMs > 0 ? timeoutMs : 5000;
        this.resource = Resource.newBuilder().addAttributes(attribute("service.name", serviceName)).build();
    }

    private static ManagedChannel channel(InetSocketAddress address) {
        return CHANNELS.computeIfAbsent(address, a -> Grpc.newChannelBuilderForAddress(
                        a.getHostString(), a.getPort(), InsecureChannelCredentials.create())
                .idleTimeout(5, TimeUnit.MINUTES)
                .build());
    }

    @Override
    void send(List<Span> batch, Host host) {
        try {
            TraceServiceGrpc.newBlockingStub(channel(host.address()))
                    .withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS)
                    .export(toRequest(batch, resource));
            reportsSent.inc();
            spansSent.add(batch.size());
        } catch (StatusRuntimeException e) {
            reportsFailed.inc();
            logger.debug("{}: export of {} spans to {} failed: {}", this, batch.size(), host.addressString(),
                    e.getStatus());
        }
    }

    static ExportTraceServiceRequest toRequest(List<Span> batch, Resource resource) {
        ScopeSpans.Builder scope = ScopeSpans.newBuilder()
                .setScope(InstrumentationScope.newBuilder().setName(SCOPE_NAME));
        for (Span s : batch) {
            TraceContext c = s.context();
            long startNanos = s.startEpochMicros() * 1000;
            io.opentelemetry.proto.trace.v1.Span.Builder b = io.opentelemetry.proto.trace.v1.Span.newBuilder()
                    .setTraceId(ByteString.copyFrom(longs(c.traceIdHigh(), c.traceIdLow())))
                    .setSpanId(ByteString.copyFrom(longs(c.spanId())))
                    .setName(s.name())
                    .setKind(s.kind() == Span.Kind.CLIENT
                            ? io.opentelemetry.proto.trace.v1.Span.SpanKind.SPAN_KIND_CLIENT
                            : io.opentelemetry.proto.trace.v1.Span.SpanKind.SPAN_KIND_SERVER)
                    .setStartTimeUnixNano(startNanos)
                    .setEndTimeUnixNano(startNanos + Math.max(1, s.durationMicros()) * 1000);
            if (c.parentId() != 0) {
                b.setParentSpanId(ByteString.copyFrom(longs(c.parentId())));
            }
            if (c.traceState() != null) {
                b.setTraceState(c.traceState());
            }
            s.tags().forEach((k, v) -> b.addAttributes(attribute(k, v)));
            if (s.error()) {
                b.setStatus(Status.newBuilder().setCode(Status.StatusCode.STATUS_CODE_ERROR));
            }
            scope.addSpans(b);
        }
        return ExportTraceServiceRequest.newBuilder()
                .addResourceSpans(ResourceSpans.newBuilder().setResource(resource).addScopeSpans(scope))
                .build();
    }

    private static KeyValue attribute(String key, String value) {
        return KeyValue.newBuilder().setKey(key).setValue(AnyValue.newBuilder().setStringValue(value)).build();
    }

    private static byte[] longs(long... values) {
        byte[] b = new byte[values.length * 8];
        for (int i = 0; i < values.length; i++) {
            for (int j = 0; j < 8; j++) {
                b[i * 8 + j] = (byte) (values[i] >>> (56 - 8 * j));
            }
        }
        return b;
    }

    @Override
    public String toString() {
        return "opentelemetry(" + cluster + ")";
    }
}
