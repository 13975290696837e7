package io.jmesh.proxy.filter.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.PrometheusText;
import io.jmesh.proxy.testing.ProxyFixture;

/**
 * gRPC-Java client → client sidecar → server sidecar → gRPC-Java server, both sidecars with {@code istio.stats}:
 * {@code request_protocol="grpc"}, {@code grpc_response_status} from the trailers, and the message counts of a
 * bidi stream.
 */
class IstioStatsGrpcTest {

    static final String SERVICE = "outbound|50051||greeter.default.svc.cluster.local";

    static Bootstraps sidecar(String listener, String direction, String node, String cluster, int port) {
        return Bootstraps.http().listener(listener).listenerOption("traffic_direction", direction)
                .bootstrap("node", node).codec("HTTP2")
                .httpFilter("istio.stats", IstioStatsHttpTest.STATS)
                .virtualHost("grpc", "*")
                .routeYaml("{ match: { prefix: / }, route: { cluster: \"" + cluster + "\", timeout: 0s } }")
                .http2Cluster(cluster, port);
    }

    /** {@code name}'s samples keyed by a few labels. */
    static Map<List<String>, Double> by(PrometheusText text, String name) {
        return text.samples(name).stream().collect(Collectors.toMap(
                s -> List.of(s.labels().get("reporter"), s.labels().get("request_protocol"),
                        s.labels().get("response_code"), s.labels().get("grpc_response_status"),
                        s.labels().get("destination_service"), s.labels().get("source_workload")),
                PrometheusText.Sample::value));
    }

    @Test
    void grpcStatusesAndMessagesAreCounted() throws Exception {
        Server backend = NettyServerBuilder.forAddress(new java.net.InetSocketAddress("127.0.0.1", 0))
                .addService(new SimpleServiceGrpc.SimpleServiceImplBase() {
                    @Override
                    public void unaryRpc(SimpleRequest req, StreamObserver<SimpleResponse> out) {
                        if (req.getRequestMessage().equals("fail")) {
                            out.onError(Status.NOT_FOUND.withDescription("no such thing").asRuntimeException());
                            return;
                        }
                        out.onNext(SimpleResponse.newBuilder().setResponseMessage("hi").build());
                        out.onCompleted();
                    }

                    @Override
                    public StreamObserver<SimpleRequest> bidiStreamingRpc(StreamObserver<SimpleResponse> out) {
                        return new StreamObserver<>() {
                            @Override
                            public void onNext(SimpleRequest r) {
                                out.onNext(SimpleResponse.newBuilder().setResponseMessage("echo").build());
                            }

                            @Override
                            public void onError(Throwable t) {}

                            @Override
                            public void onCompleted() {
                                out.onCompleted();
                            }
                        };
                    }
                }).build().start();
        ProxyFixture server = sidecar("inbound", "INBOUND", IstioStatsHttpTest.node(
                "sidecar~127.0.0.2~greeter-v1-1.default~default.svc.cluster.local", "greeter-v1-1", "greeter-v1",
                "greeter", "v1"), "inbound|50051||", backend.getPort()).start();
        ProxyFixture client = sidecar("outbound", "OUTBOUND", IstioStatsHttpTest.node(
                "sidecar~127.0.0.1~web-v1-1.default~default.svc.cluster.local", "web-v1-1", "web-v1", "web", "v1"),
                SERVICE, server.port()).start();
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", client.port())
                .overrideAuthority("greeter.default.svc.cluster.local:50051").usePlaintext().build();
        try {
            SimpleServiceGrpc.SimpleServiceBlockingStub stub = SimpleServiceGrpc.newBlockingStub(channel);
            assertEquals("hi", stub.unaryRpc(SimpleRequest.newBuilder().setRequestMessage("a").build())
                    .getResponseMessage());
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> stub.unaryRpc(SimpleRequest.newBuilder().setRequestMessage("fail").build()));
            assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
            CompletableFuture<Integer> done = new CompletableFuture<>();
            int[] received = {0};
            StreamObserver<SimpleRequest> up = SimpleServiceGrpc.newStub(channel).bidiStreamingRpc(
                    new StreamObserver<>() {
                        @Override
                        public void onNext(SimpleResponse r) {
                            received[0]++;
                        }

                        @Override
                        public void onError(Throwable t) {
                            done.completeExceptionally(t);
                        }

                        @Override
                        public void onCompleted() {
                            done.complete(received[0]);
                        }
                    });
            for (int i = 0; i < 3; i++) {
                up.onNext(SimpleRequest.newBuilder().setRequestMessage("m" + i).build());
            }
            up.onCompleted();
            assertEquals(3, done.get(10, TimeUnit.SECONDS));

            Poll.until(() -> IstioStatsHttpTest.totalOrZero(client) == 3 && IstioStatsHttpTest.totalOrZero(server) == 3,
                    "3 calls recorded by each side");
            String svc = "greeter.default.svc.cluster.local";
            for (ProxyFixture p : List.of(client, server)) {
                String reporter = p == client ? "source" : "destination";
                PrometheusText text = IstioStatsHttpTest.scrape(p);
                List<String> ok = List.of(reporter, "grpc", "200", "0", svc, "web-v1");
                List<String> notFound = List.of(reporter, "grpc", "200", "5", svc, "web-v1");
                assertEquals(Map.of(ok, 2.0, notFound, 1.0), by(text, "istio_requests_total"), reporter);
                assertEquals(Map.of(ok, 4.0, notFound, 1.0), by(text, "istio_request_messages_total"), reporter);
                assertEquals(Map.of(ok, 4.0, notFound, 0.0), by(text, "istio_response_messages_total"), reporter);
            }
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            client.close();
            server.close();
            backend.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
