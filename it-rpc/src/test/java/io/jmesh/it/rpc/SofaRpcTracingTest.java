package io.jmesh.it.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.alipay.sofa.rpc.config.ServerConfig;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.jmesh.proxy.config.BootstrapLoader;
import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.telemetry.tracing.RpcTracing;
import io.jmesh.proxy.telemetry.tracing.TraceContext;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;

/**
 * The rpc_proxy's {@code tracing} between a real SOFARPC consumer and provider: the span of the call, exported over
 * OTLP/gRPC to a real gRPC-Java {@code TraceService} receiver, joins the trace that SOFATracer's
 * {@code rpc_trace_context} names.
 */
class SofaRpcTracingTest {

    static final String CONFIG = """
            node: { id: consumer-node, cluster: consumer.default }
            static_resources:
              listeners:
              - name: sofarpc
                address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
                traffic_direction: OUTBOUND
                filter_chains:
                - filters:
                  - name: jmesh.filters.network.rpc_proxy
                    typed_config:
                      "@type": type.googleapis.com/xds.type.v3.TypedStruct
                      type_url: type.googleapis.com/jmesh.filters.network.rpc_proxy.v1.RpcProxy
                      value:
                        stat_prefix: sofarpc
                        protocol: bolt
                        tracing:
                          provider:
                            name: envoy.tracers.opentelemetry
                            typed_config:
                              "@type": type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig
                              grpc_service: { envoy_grpc: { cluster_name: otel }, timeout: 8s }
                              service_name: consumer.default
                        route_config:
                          virtual_hosts:
                          - name: hello
                            domains: ["io.jmesh.it.rpc.HelloService"]
                            routes:
                            - match: { prefix: "/" }
                              route: { cluster: provider }
              clusters:
              - name: provider
                connect_timeout: 1s
                type: STATIC
                load_assignment:
                  cluster_name: provider
                  endpoints:
                  - lb_endpoints:
                    - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } }
              - name: otel
                connect_timeout: 1s
                type: STATIC
                typed_extension_protocol_options:
                  envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                    "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                    explicit_http_config: { http2_protocol_options: {} }
                load_assignment:
                  cluster_name: otel
                  endpoints:
                  - lb_endpoints:
                    - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } }
            """;

    private static final ConcurrentLinkedQueue<Span> SPANS = new ConcurrentLinkedQueue<>();
    private static Server collector;
    private static ServerConfig serverConfig;
    private static ProxyServer proxy;

    @BeforeAll
    static void start() throws Exception {
        collector = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                .addService(new TraceServiceGrpc.TraceServiceImplBase() {
                    @Override
                    public void export(ExportTraceServiceRequest request,
                                       StreamObserver<ExportTraceServiceResponse> response) {
                        request.getResourceSpansList().forEach(rs -> rs.getScopeSpansList()
                                .forEach(ss -> SPANS.addAll(ss.getSpansList())));
                        response.onNext(ExportTraceServiceResponse.getDefaultInstance());
                        response.onCompleted();
                    }
                }).build().start();
        final int port = RpcMesh.freePort(); // SOFARPC does not report an ephemeral port back
        serverConfig = SofaApps.provider(port);
        proxy = ProxyServer.start(BootstrapLoader.parse(String.format(CONFIG, port, collector.getPort())), 1);
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
            collector.shutdownNow().awaitTermination();
        }
    }

    private static String hex(com.google.protobuf.ByteString b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b.toByteArray()) {
            s.append(String.format("%02x", x));
        }
        return s.toString();
    }

    @Test
    void aSofaRpcCallsSpanJoinsItsSofaTrace() throws Exception {
        final HelloService hello = SofaApps.consumer(proxy.listenerAddresses().get("sofarpc")).refer();
        assertEquals("hello tracer", hello.sayHello("tracer", 1));
        for (int i = 0; i < 1000 && SPANS.isEmpty(); i++) {
            Thread.sleep(10);
        }
        assertEquals(1, SPANS.size(), "one span at the OTLP receiver within 10 s");
        final Span span = SPANS.peek();
        final Map<String, String> tags = span.getAttributesList().stream()
                .collect(Collectors.toMap(KeyValue::getKey, kv -> kv.getValue().getStringValue()));
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
