package io.jmesh.it.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.rpc.RpcContext;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.jmesh.proxy.config.BootstrapLoader;
import io.jmesh.proxy.server.ProxyServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.TraceServiceGrpc;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.Span;

/**
 * The rpc_proxy's {@code tracing} between a real Dubbo consumer and provider: the consumer's {@code traceparent}
 * attachment is continued, the span goes over OTLP/gRPC to a real gRPC-Java {@code TraceService} receiver, and the
 * provider's attachments carry the span's context.
 */
class DubboTracingTest {

    static final String CONFIG = """
            node: { id: consumer-node, cluster: consumer.default }
            static_resources:
              listeners:
              - name: dubbo
                address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
                traffic_direction: OUTBOUND
                filter_chains:
                - filters:
                  - name: jmesh.filters.network.rpc_proxy
                    typed_config:
                      "@type": type.googleapis.com/xds.type.v3.TypedStruct
                      type_url: type.googleapis.com/jmesh.filters.network.rpc_proxy.v1.RpcProxy
                      value:
                        stat_prefix: dubbo
                        protocol: dubbo
                        tracing:
                          provider:
                            name: envoy.tracers.opentelemetry
                            typed_config:
                              "@type": type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig
                              grpc_service: { envoy_grpc: { cluster_name: otel }, timeout: 8s }
                              service_name: consumer.default
                        route_config:
                          virtual_hosts:
                          - name: greeting
                            domains: ["io.jmesh.it.rpc.GreetingService"]
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
    private static DubboBootstrap provider;
    private static DubboBootstrap consumer;
    private static GreetingService greeting;
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
        // answers with the traceparent attachment it received
        provider = DubboApps.provider(port,
                name -> String.valueOf(RpcContext.getServerAttachment().getAttachment("traceparent")));
        proxy = ProxyServer.start(BootstrapLoader.parse(String.format(CONFIG, port, collector.getPort())), 1);
        final ReferenceConfig<GreetingService> reference = new ReferenceConfig<>();
        consumer = DubboApps.consumer(proxy.listenerAddresses().get("dubbo"), reference);
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
    void aDubboCallContinuesTheConsumersTraceparent() throws Exception {
        RpcContext.getClientAttachment().setAttachment("traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        final String seenByProvider;
        try {
            seenByProvider = greeting.greet("tracer");
        } finally {
            RpcContext.removeClientAttachment();
        }
        for (int i = 0; i < 1000 && SPANS.isEmpty(); i++) {
            Thread.sleep(10);
        }
        assertEquals(1, SPANS.size(), "one span at the OTLP receiver within 10 s");
        final Span span = SPANS.peek();
        final Map<String, String> tags = span.getAttributesList().stream()
                .collect(Collectors.toMap(KeyValue::getKey, kv -> kv.getValue().getStringValue()));
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
