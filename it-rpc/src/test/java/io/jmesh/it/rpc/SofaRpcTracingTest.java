package io.jmesh.it.rpc;

import static io.jmesh.proxy.telemetry.tracing.OtlpReceiver.attributes;
import static io.jmesh.proxy.telemetry.tracing.OtlpReceiver.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.alipay.sofa.rpc.config.ServerConfig;

import io.jmesh.proxy.telemetry.tracing.OtlpReceiver;
import io.jmesh.proxy.telemetry.tracing.RpcTracing;
import io.jmesh.proxy.telemetry.tracing.TraceContext;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.opentelemetry.proto.trace.v1.Span;

/**
 * The rpc_proxy's {@code tracing} between a real SOFARPC consumer and provider: the span of the call, exported over
 * OTLP/gRPC to a real gRPC-Java {@code TraceService} receiver, joins the trace that SOFATracer's
 * {@code rpc_trace_context} names.
 */
class SofaRpcTracingTest {

    private static OtlpReceiver collector;
    private static ServerConfig serverConfig;
    private static ProxyFixture proxy;

    @BeforeAll
    static void start() throws Exception {
        collector = new OtlpReceiver();
        final int port = RpcMesh.freePort(); // SOFARPC does not report an ephemeral port back
        serverConfig = SofaApps.provider(port);
        proxy = RpcMesh.tracedConsumerSidecar("bolt", "sofarpc", HelloService.class.getName(), port, collector);
    }

    @AfterAll
    static void stop() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        if (serverConfig != null) {
            serverConfig.destroy();
        }
        if (collector != null) {
            collector.close();
        }
    }

    @Test
    void aSofaRpcCallsSpanJoinsItsSofaTrace() throws Exception {
        final HelloService hello = SofaApps.consumer(proxy.server().listenerAddresses().get("sofarpc")).refer();
        assertEquals("hello tracer", hello.sayHello("tracer", 1));
        Poll.until(() -> !collector.spans().isEmpty(), "a span at the OTLP receiver");
        final List<Span> spans = collector.spans();
        assertEquals(1, spans.size(), "one span at the OTLP receiver");
        final Span span = spans.get(0);
        final Map<String, String> tags = attributes(span);
        final String sofaTraceId = tags.get("sofaTraceId");
        assertTrue(sofaTraceId != null && sofaTraceId.length() > 10, "SOFATracer's trace id is on the span: " + tags);
        final TraceContext sofa = RpcTracing.fromSofa(sofaTraceId, tags.get("sofaRpcId"));
        assertEquals(sofa.traceId128Hex(), hex(span.getTraceId()), "the span is in the trace SOFARPC's id names");
        assertEquals(sofa.spanIdHex(), hex(span.getParentSpanId()));
        assertEquals(Span.SpanKind.SPAN_KIND_CLIENT, span.getKind());
        assertEquals("egress io.jmesh.it.rpc.HelloService", span.getName());
        assertEquals("sayHello", tags.get("rpc.method"));
        assertEquals("0", tags.get("rpc.status_code"));
        assertEquals("provider", tags.get("upstream_cluster"));
    }
}
