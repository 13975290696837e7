package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.jmesh.proxy.testing.ProxyFixture;

/**
 * Local replies to a real gRPC-Java client: trailers-only responses whose {@code grpc-status} is Envoy's mapping
 * of the HTTP status (no cluster 503 → UNAVAILABLE, no route 404 → UNIMPLEMENTED, a fault abort 403 →
 * PERMISSION_DENIED) and whose {@code grpc-message} is the reply's body.
 */
class GrpcLocalReplyTest {

    static final String CONFIG = """
            static_resources:
              listeners:
              - name: grpc
                address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
                filter_chains:
                - filters:
                  - name: envoy.filters.network.http_connection_manager
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                      stat_prefix: grpc
                      codec_type: HTTP2
                      route_config:
                        virtual_hosts:
                        - name: grpc
                          domains: ["*"]
                          routes:
                          - match: { prefix: /grpc.testing.SimpleService/UnaryRpc }
                            route: { cluster: missing }
                          - match: { prefix: /grpc.testing.SimpleService/ServerStreamingRpc }
                            route: { cluster: missing }
                            typed_per_filter_config:
                              envoy.filters.http.fault:
                                "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
                                abort: { http_status: 403, percentage: { numerator: 100 } }
                      http_filters:
                      - name: envoy.filters.http.fault
                        typed_config:
                          "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
                      - name: envoy.filters.http.router
            """;

    @Test
    void localRepliesAreGrpcStatuses() throws Exception {
        try (ProxyFixture proxy = ProxyFixture.start(CONFIG, Map.of())) {
            ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
            try {
                SimpleServiceGrpc.SimpleServiceBlockingStub stub = SimpleServiceGrpc.newBlockingStub(channel);
                SimpleRequest req = SimpleRequest.newBuilder().setRequestMessage("x").build();

                StatusRuntimeException noCluster = assertThrows(StatusRuntimeException.class, () -> stub.unaryRpc(req));
                assertEquals(Status.Code.UNAVAILABLE, noCluster.getStatus().getCode());

                StatusRuntimeException fault = assertThrows(StatusRuntimeException.class,
                        () -> stub.serverStreamingRpc(req).hasNext());
                assertEquals(Status.Code.PERMISSION_DENIED, fault.getStatus().getCode());
                assertEquals("fault filter abort", fault.getStatus().getDescription());

                CompletableFuture<Throwable> failed = new CompletableFuture<>();
                StreamObserver<SimpleRequest> up = SimpleServiceGrpc.newStub(channel).clientStreamingRpc(
                        new StreamObserver<SimpleResponse>() {
                            @Override
                            public void onNext(SimpleResponse value) {
                                failed.completeExceptionally(new AssertionError("unexpected response " + value));
                            }

                            @Override
                            public void onError(Throwable t) {
                                failed.complete(t);
                            }

                            @Override
                            public void onCompleted() {
                                failed.completeExceptionally(new AssertionError("completed without an error"));
                            }
                        });
                up.onNext(req);
                up.onCompleted();
                Throwable t = failed.get(10, TimeUnit.SECONDS);
                assertTrue(t instanceof StatusRuntimeException, t.toString());
                assertEquals(Status.Code.UNIMPLEMENTED, ((StatusRuntimeException) t).getStatus().getCode());
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }
}
