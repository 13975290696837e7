package io.jmesh.proxy.filter.grpcbridge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.ProxyFixture;

/**
 * {@code envoy.filters.http.grpc_http1_bridge}: HTTP/1.1 clients (Java's HttpClient) calling a real gRPC-Java server
 * through the proxy, with gRPC bodies and with plain protobuf bodies ({@code upgrade_protobuf_to_grpc}).
 */
class GrpcHttp1BridgeFilterTest {

    private static final String PATH = "/grpc.testing.SimpleService/UnaryRpc";

    static Server server;
    static ProxyFixture proxy;
    static final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

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
                }).build().start();
        proxy = Bootstraps.http()
                .httpFilter("envoy.filters.http.grpc_http1_bridge", Bootstraps.typed(
                        "envoy.extensions.filters.http.grpc_http1_bridge.v3.Config",
                        "upgrade_protobuf_to_grpc: true, ignore_query_parameters: true"))
                .route("/", "grpc_backend")
                .http2Cluster("grpc_backend", server.getPort())
                .start(2);
    }

    @AfterAll
    static void stop() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        if (server != null) {
            server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    static byte[] frame(byte[] message) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(b);
        d.writeByte(0);
        d.writeInt(message.length);
        d.write(message);
        return b.toByteArray();
    }

    private static HttpResponse<byte[]> post(String path, String contentType, byte[] body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(proxy.url(path))).timeout(Duration.ofSeconds(20))
                .header("content-type", contentType).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    private static byte[] request(String text) {
        return SimpleRequest.newBuilder().setRequestMessage(text).build().toByteArray();
    }

    @Test
    void grpcOverHttp1GetsStatusInHeaders() throws Exception {
        HttpResponse<byte[]> r = post(PATH, "application/grpc", frame(request("h1")));
        assertEquals(200, r.statusCode());
        assertEquals("0", r.headers().firstValue("grpc-status").orElse(null));
        byte[] expected = frame(SimpleResponse.newBuilder().setResponseMessage("hello h1").build().toByteArray());
        assertArrayEquals(expected, r.body());
        assertEquals(String.valueOf(expected.length), r.headers().firstValue("content-length").orElse(null));
    }

    @Test
    void failedCallIs503WithGrpcStatus() throws Exception {
        HttpResponse<byte[]> r = post(PATH, "application/grpc", frame(request("fail")));
        assertEquals(503, r.statusCode());
        assertEquals("5", r.headers().firstValue("grpc-status").orElse(null));
        assertEquals("no such thing", r.headers().firstValue("grpc-message").orElse(null));
        assertEquals(0, r.body().length);
    }

    @Test
    void protobufUpgradedAndQueryIgnored() throws Exception {
        HttpResponse<byte[]> r = post(PATH + "?client=legacy", "application/x-protobuf", request("proto"));
        assertEquals(200, r.statusCode(), new String(r.body()));
        assertEquals("application/x-protobuf", r.headers().firstValue("content-type").orElse(null));
        assertEquals("hello proto", SimpleResponse.parseFrom(r.body()).getResponseMessage());
        assertEquals("0", r.headers().firstValue("grpc-status").orElse(null));
    }

    @Test
    void emptyProtobufBodyIsOneEmptyMessage() throws Exception {
        HttpResponse<byte[]> r = post(PATH, "application/x-protobuf", new byte[0]);
        assertEquals(200, r.statusCode());
        assertEquals("hello ", SimpleResponse.parseFrom(r.body()).getResponseMessage());
    }

    @Test
    void http2GrpcPassesUntouched() throws Exception {
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
        try {
            SimpleResponse r = SimpleServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .unaryRpc(SimpleRequest.newBuilder().setRequestMessage("h2").build());
            assertEquals("hello h2", r.getResponseMessage());
            io.grpc.StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(
                    io.grpc.StatusRuntimeException.class, () -> SimpleServiceGrpc.newBlockingStub(ch)
                            .withDeadlineAfter(10, TimeUnit.SECONDS)
                            .unaryRpc(SimpleRequest.newBuilder().setRequestMessage("fail").build()));
            assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void nonGrpcRequestPassesUntouched() throws Exception {
        HttpResponse<byte[]> r = post(PATH, "text/plain", "x".getBytes());
        assertTrue(r.statusCode() != 503, "not bridged: " + r.statusCode());
    }
}
