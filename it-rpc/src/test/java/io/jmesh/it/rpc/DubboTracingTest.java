package io.jmesh.it.rpc;

import static io.jmesh.proxy.telemetry.tracing.OtlpReceiver.attributes;
import static io.jmesh.proxy.telemetry.tracing.OtlpReceiver.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.rpc.RpcContext;

import io.jmesh.proxy.telemetry.tracing.OtlpReceiver;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.opentelemetry.proto.trace.v1.Span;

/**
 * The rpc_proxy's {@code tracing} between a real Dubbo consumer and provider: the consumer's {@code traceparent}
 * attachment is continued, the span goes over OTLP/gRPC to a real gRPC-Java {@code TraceService} receiver, and the
 * provider's attachments carry the span's context.
 */
class DubboTracingTest {

    private static OtlpReceiver collector;
    private static DubboBootstrap provider;
    private static DubboBootstrap consumer;
    private static GreetingService greeting;
    private static ProxyFixture proxy;

    @BeforeAll
    static void start() throws Exception {
        collector = new OtlpReceiver();
        final int port = RpcMesh.freePort();
        // answers with the traceparent attachment it received
        provider = DubboApps.provider(port,
                name -> String.valueOf(RpcContext.getServerAttachment().getAttachment("traceparent")));
        proxy = RpcMesh.tracedConsumerSidecar("dubbo", "dubbo", GreetingService.class.getName(), port, collector);
        final ReferenceConfig<GreetingService> reference = new ReferenceConfig<>();
        consumer = DubboApps.consumer(proxy.server().listenerAddresses().get("dubbo"), reference);
        greeting = reference.get();
    }

    @AfterAll
    static void stop() throws Exception {
        if (consumer != null) {
            consumer.stop();
        }
        if (proxy != null) {
            proxy.close();
        }
        if (provider != null) {
            provider.stop();
        }
        if (collector != null) {
            collector.close();
        }
    }

    @Test
    void aDubboCallContinuesTheConsumersTraceparent() throws Exception {
        RpcContext.getClientAttachment().setAttachment("traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        final String seenByProvider;
        try {
            seenByProvider = greeting.greet("tracer");
        } finally {
            RpcContext.removeClientAttachment();
        }
        Poll.until(() -> !collector.spans().isEmpty(), "a span at the OTLP receiver");
        final List<Span> spans = collector.spans();
        assertEquals(1, spans.size(), "one span at the OTLP receiver");
        final Span span = spans.get(0);
        final Map<String, String> tags = attributes(span);
        assertEquals("0af7651916cd43dd8448eb211c80319c", hex(span.getTraceId()));
        assertEquals("b7ad6b7169203331", hex(span.getParentSpanId()), "the span continues the consumer's");
        assertEquals("00-0af7651916cd43dd8448eb211c80319c-" + hex(span.getSpanId()) + "-01", seenByProvider,
                "the provider's parent is the proxy's span");
        assertEquals(Span.SpanKind.SPAN_KIND_CLIENT, span.getKind());
        assertEquals("greet", tags.get("rpc.method"));
        assertEquals("20", tags.get("rpc.status_code"));
        assertEquals("provider", tags.get("upstream_cluster"));
    }
}
