package io.jmesh.proxy.network.rpc;

import static io.jmesh.proxy.network.rpc.RpcPeers.request;
import static io.jmesh.proxy.telemetry.tracing.OtlpReceiver.attributes;
import static io.jmesh.proxy.telemetry.tracing.OtlpReceiver.hex;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.telemetry.tracing.OtlpReceiver;
import io.jmesh.proxy.telemetry.tracing.RpcTracing;
import io.jmesh.proxy.telemetry.tracing.TraceContext;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.netty.util.ReferenceCountUtil;
import io.opentelemetry.proto.trace.v1.Span;

/**
 * RPC calls traced by the rpc_proxy's {@code tracing} over real sockets: a Bolt or Dubbo client -> sidecar A
 * (OUTBOUND) -> sidecar B (INBOUND) -> echo provider, spans exported over OTLP/gRPC to a real gRPC receiver; the
 * context travels in the Bolt header map / Dubbo attachments, and SOFARPC's {@code rpc_trace_context} joins it.
 */
class RpcTracingTest {

    private final List<AutoCloseable> resources = new ArrayList<>();
    private ProxyFixture inbound;
    private ProxyFixture outbound;
    private OtlpReceiver collector;
    private RpcPeers.EchoServer provider;

    @AfterEach
    void tearDown() throws Exception {
        RpcPeers.closeAll(resources, null);
        if (outbound != null) {
            outbound.close();
        }
        if (inbound != null) {
            inbound.close();
        }
        if (collector != null) {
            collector.close();
        }
    }

    private RpcPeers.Client start(RpcProtocol p) throws Exception {
        collector = new OtlpReceiver();
        provider = new RpcPeers.EchoServer(p, "provider");
        resources.add(provider);
        inbound = sidecar(p, "inbound", "provider.default", "inbound|12200||", provider.port());
        outbound = sidecar(p, "outbound", "consumer.default", "outbound|12200||provider", inbound.port());
        RpcPeers.Client c = new RpcPeers.Client(p, outbound.port());
        resources.add(0, c);
        return c;
    }

    /**
     * A sidecar whose listener, stat prefix and traffic direction are {@code direction}, routing every call to
     * {@code cluster} at {@code port} and exporting spans as {@code service} to the collector.
     */
    private ProxyFixture sidecar(RpcProtocol p, String direction, String service, String cluster, int port)
            throws Exception {
        return Bootstraps.rpc(p.protocolName()).statPrefix(direction)
                .listener(direction).listenerOption("traffic_direction", direction.toUpperCase(Locale.ROOT))
                .option("tracing", OtlpReceiver.tracing(service, ""))
                .route("/", cluster)
                .cluster(cluster, port)
                .http2Cluster("otel", collector.port())
                .start();
    }

    private void call(RpcPeers.Client c, RpcProtocol p, Map<String, String> headers) throws InterruptedException {
        Object resp = c.call(request(p, 7, false, 3000, "com.example.HelloService", "sayHello", headers, "hi"));
        try {
            assertEquals("provider", RpcPeers.server(resp));
        } finally {
            ReferenceCountUtil.release(resp);
        }
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void twoHopRpcTraceContinuesTheCallersW3cContext(RpcProtocol p) throws Exception {
        RpcPeers.Client c = start(p);
        call(c, p, Map.of("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
        Map<String, String> seen = provider.receivedHeaders.poll(10, TimeUnit.SECONDS);
        assertNotNull(seen);
        Poll.until(() -> collector.spansByService().size() == 2, "a span from each sidecar");
        Span client = collector.spansByService().get("consumer.default");
        Span server = collector.spansByService().get("provider.default");
        assertEquals("0af7651916cd43dd8448eb211c80319c", hex(client.getTraceId()));
        assertEquals("b7ad6b7169203331", hex(client.getParentSpanId()));
        assertEquals(hex(client.getSpanId()), hex(server.getParentSpanId()), "the provider side is the child");
        assertEquals("00-0af7651916cd43dd8448eb211c80319c-" + hex(server.getSpanId()) + "-01", seen.get("traceparent"),
                "the provider sees the inbound span as its parent");
        assertEquals(Span.SpanKind.SPAN_KIND_CLIENT, client.getKind());
        assertEquals(Span.SpanKind.SPAN_KIND_SERVER, server.getKind());
        assertEquals("egress com.example.HelloService", client.getName());
        Map<String, String> sa = attributes(server);
        assertEquals("inbound|12200||", sa.get("upstream_cluster"));
        assertEquals("sayHello", sa.get("rpc.method"));
        assertEquals(p == RpcProtocol.BOLT ? "0" : "20", sa.get("rpc.status_code"), "the protocol's success status");
        assertTrue(!sa.containsKey("error"), sa.toString());
        assertEquals("outbound|12200||provider", attributes(client).get("upstream_cluster"));
    }

    @Test
    void sofaRpcTraceContextJoinsTheTrace() throws Exception {
        RpcPeers.Client c = start(RpcProtocol.BOLT);
        String sofaTraceId = "0a0fe8ec1571135218941100122618";
        call(c, RpcProtocol.BOLT, Map.of(RpcTracing.SOFA_TRACE_ID, sofaTraceId, RpcTracing.SOFA_RPC_ID, "0.1"));
        Poll.until(() -> collector.spansByService().size() == 2, "a span from each sidecar");
        Span client = collector.spansByService().get("consumer.default");
        Span server = collector.spansByService().get("provider.default");
        TraceContext sofa = RpcTracing.fromSofa(sofaTraceId, "0.1");
        assertEquals(sofa.traceId128Hex(), hex(client.getTraceId()), "the SOFA trace id names the trace");
        assertEquals(sofa.spanIdHex(), hex(client.getParentSpanId()), "the SOFA rpc id is the caller's span");
        assertEquals(hex(client.getSpanId()), hex(server.getParentSpanId()));
        assertEquals(sofaTraceId, attributes(client).get("sofaTraceId"));
        assertEquals("0.1", attributes(server).get("sofaRpcId"));
        Map<String, String> seen = provider.receivedHeaders.poll(10, TimeUnit.SECONDS);
        assertEquals(sofaTraceId, seen.get(RpcTracing.SOFA_TRACE_ID), "SOFARPC's own context reaches the provider");
        assertTrue(seen.get("traceparent").startsWith("00-" + sofa.traceId128Hex()), seen.toString());
    }

    @Test
    void badRpcTracingNamesTheField() {
        ConfigException e = assertThrows(ConfigException.class, () -> Bootstraps.rpc("bolt")
                .option("tracing", "{ random_sampling: { value: -1 } }").route("/", "x").cluster("x").start());
        assertTrue(e.getMessage().endsWith("typed_config.value.tracing.random_sampling.value: -1.0 (expected: 0..100)"),
                e.getMessage());
    }
}
