package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
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
import io.jmesh.proxy.testing.ProxyFixture;

/** gRPC-Java client → jmesh proxy (HTTP/2 both sides) → gRPC-Java server: unary, errors with trailers, bidi streaming. */
class GrpcProxyTest {

    /** An HTTP/2-only listener routing everything, without a timeout, to an h2c gRPC backend. */
    static Bootstraps config(int port) {
        return Bootstraps.http()
                .listener("grpc")
                .statPrefix("grpc")
                .codec("HTTP2")
                .virtualHost("grpc", "*")
                .routeYaml("{ match: { prefix: / }, route: { cluster: grpc_backend, timeout: 0s } }")
                .http2Cluster("grpc_backend", port);
    }

    static Server server;
    static ProxyFixture proxy;
    static ManagedChannel channel;

    @BeforeAll
    static void start() throws Exception {
        server = NettyServerBuilder.forAddress(new java.net.InetSocketAddress("127.0.0.1", 0))
                .addService(new SimpleServiceGrpc.SimpleServiceImplBase() {
                    @Override
                    public void unaryRpc(SimpleRequest req, StreamObserver<SimpleResponse> out) {
                        if (req.getRequestMessage().equals("fail")) {
                            out.onError(Status.NOT_FOUND.withDescription("no such thing").asRuntimeException());
                            return;
                        }
                        out.onNext(SimpleResponse.newBuilder().setResponseMessage("hello " + req.getRequestMessage()).build());
                        out.onCompleted();
                    }

                    @Override
                    public StreamObserver<SimpleRequest> bidiStreamingRpc(StreamObserver<SimpleResponse> out) {
                        return new StreamObserver<>() {
                            @Override
                            public void onNext(SimpleRequest r) {
                                out.onNext(SimpleResponse.newBuilder().setResponseMessage("echo " + r.getRequestMessage()).build());
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
        proxy = config(server.getPort()).start(2);
        channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
    }

    @AfterAll
    static void stop() throws Exception {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (proxy != null) {
            proxy.close();
        }
        if (server != null) {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void unary() {
        SimpleResponse r = SimpleServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .unaryRpc(SimpleRequest.newBuilder().setRequestMessage("mesh").build());
        assertEquals("hello mesh", r.getResponseMessage());
    }

    @Test
    void errorStatusTravelsInTrailers() {
        StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class, () ->
                SimpleServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .unaryRpc(SimpleRequest.newBuilder().setRequestMessage("fail").build()));
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
        assertEquals("no such thing", e.getStatus().getDescription());
    }

    @Test
    void bidiStreaming() throws Exception {
        List<String> got = new ArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        Throwable[] error = new Throwable[1];
        StreamObserver<SimpleRequest> req = SimpleServiceGrpc.newStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                .bidiStreamingRpc(new StreamObserver<>() {
                    @Override
                    public void onNext(SimpleResponse r) {
                        synchronized (got) {
                            got.add(r.getResponseMessage());
                        }
                    }

                    @Override
                    public void onError(Throwable t) {
                        error[0] = t;
                        done.countDown();
                    }

                    @Override
                    public void onCompleted() {
                        done.countDown();
                    }
                });
        for (int i = 0; i < 50; i++) {
            req.onNext(SimpleRequest.newBuilder().setRequestMessage("m" + i).build());
        }
        req.onCompleted();
        assertTrue(done.await(15, TimeUnit.SECONDS));
        assertEquals(null, error[0]);
        assertEquals(50, got.size());
        assertEquals("echo m0", got.get(0));
        assertEquals("echo m49", got.get(49));
    }

    @Test
    void manyConcurrentUnaryCallsMultiplex() throws Exception {
        var stub = SimpleServiceGrpc.newFutureStub(channel);
        List<com.google.common.util.concurrent.ListenableFuture<SimpleResponse>> fs = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            fs.add(stub.withDeadlineAfter(20, TimeUnit.SECONDS).unaryRpc(SimpleRequest.newBuilder().setRequestMessage("n" + i).build()));
        }
        for (int i = 0; i < 200; i++) {
            assertEquals("hello n" + i, fs.get(i).get(20, TimeUnit.SECONDS).getResponseMessage());
        }
    }
}
