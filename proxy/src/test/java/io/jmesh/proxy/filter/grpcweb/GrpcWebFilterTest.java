package io.jmesh.proxy.filter.grpcweb;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;

/**
 * {@code envoy.filters.http.grpc_web} between a hand-written gRPC-Web client (HTTP/1.1 with Java's HttpClient,
 * HTTP/2 with curl) and a real gRPC-Java server, behind the CORS filter as browsers need it.
 */
class GrpcWebFilterTest {

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
                .httpFilter("envoy.filters.http.cors", Bootstraps.typed("envoy.extensions.filters.http.cors.v3.Cors", ""))
                .httpFilter("envoy.filters.http.grpc_web",
                        Bootstraps.typed("envoy.extensions.filters.http.grpc_web.v3.GrpcWeb", ""))
                .route("/", "grpc_backend", "envoy.filters.http.cors", Bootstraps.typed(
                        "envoy.extensions.filters.http.cors.v3.CorsPolicy",
                        "allow_origin_string_match: [ { exact: \"https://app.example\" } ], allow_methods: \"POST\","
                                + " allow_headers: \"content-type,x-grpc-web,x-user-agent\","
                                + " expose_headers: \"grpc-status,grpc-message\", max_age: \"1728000\""))
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

    /** A gRPC-Web body: one uncompressed data frame holding {@code message}. */
    static byte[] frame(byte[] message) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(b);
        d.writeByte(0);
        d.writeInt(message.length);
        d.write(message);
        return b.toByteArray();
    }

    /** The frames of a gRPC-Web response body: data frames' messages and the trailer frame's fields. */
    record Frames(List<byte[]> messages, Map<String, String> trailers, int trailerFrames) {
        static Frames parse(byte[] body) {
            ByteBuffer b = ByteBuffer.wrap(body);
            List<byte[]> messages = new ArrayList<>();
            Map<String, String> trailers = new LinkedHashMap<>();
            int trailerFrames = 0;
            while (b.hasRemaining()) {
                byte flag = b.get();
                byte[] payload = new byte[b.getInt()];
                b.get(payload);
                if ((flag & 0x80) != 0) {
                    trailerFrames++;
                    for (String line : new String(payload, StandardCharsets.ISO_8859_1).split("\r\n")) {
                        int i = line.indexOf(':');
                        trailers.put(line.substring(0, i), line.substring(i + 1));
                    }
                } else {
                    messages.add(payload);
                }
            }
            return new Frames(messages, trailers, trailerFrames);
        }
    }

    private static HttpResponse<byte[]> post(byte[] body, String contentType, String accept) throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(proxy.url(PATH)))
                .timeout(Duration.ofSeconds(20))
                .header("content-type", contentType)
                .header("x-grpc-web", "1")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (accept != null) {
            r.header("accept", accept);
        }
        return http.send(r.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    @Test
    void binaryOverHttp1() throws Exception {
        HttpResponse<byte[]> r = post(frame(SimpleRequest.newBuilder().setRequestMessage("web").build().toByteArray()),
                "application/grpc-web+proto", null);
        assertEquals(200, r.statusCode());
        assertEquals("application/grpc-web+proto", r.headers().firstValue("content-type").orElse(null));
        Frames f = Frames.parse(r.body());
        assertEquals(1, f.messages().size());
        assertEquals("hello web", SimpleResponse.parseFrom(f.messages().get(0)).getResponseMessage());
        assertEquals(1, f.trailerFrames());
        assertEquals("0", f.trailers().get("grpc-status"));
        assertTrue(r.headers().firstValue("grpc-status").isEmpty(), "the status is in the body, not in HTTP trailers");
    }

    @Test
    void errorOfTrailersOnlyResponseStaysInHeaders() throws Exception {
        HttpResponse<byte[]> r = post(frame(SimpleRequest.newBuilder().setRequestMessage("fail").build().toByteArray()),
                "application/grpc-web", null);
        assertEquals(200, r.statusCode());
        assertEquals("application/grpc-web+proto", r.headers().firstValue("content-type").orElse(null));
        assertEquals("5", r.headers().firstValue("grpc-status").orElse(null));
        assertEquals("no such thing", r.headers().firstValue("grpc-message").orElse(null));
        assertEquals(0, r.body().length);
    }

    @Test
    void textOverHttp2WithCurl() throws Exception {
        String body = Base64.getEncoder().encodeToString(
                frame(SimpleRequest.newBuilder().setRequestMessage("text").build().toByteArray()));
        Curl.Result r = Curl.run("--http2-prior-knowledge", "-X", "POST",
                "-H", "content-type: application/grpc-web-text", "-H", "accept: application/grpc-web-text",
                "-H", "x-grpc-web: 1", "--data-binary", body, proxy.url(PATH));
        assertEquals(200, r.status, r.toString());
        assertEquals("HTTP/2", r.httpVersion);
        assertEquals("application/grpc-web-text+proto", r.header("content-type"));
        Frames f = Frames.parse(Base64.getDecoder().decode(r.body.trim()));
        assertEquals("hello text", SimpleResponse.parseFrom(f.messages().get(0)).getResponseMessage());
        assertEquals("0", f.trailers().get("grpc-status"));
    }

    @Test
    void textRequestInTwoBase64PartsWithPadding() throws Exception {
        // Each message of a streaming client is encoded on its own: padding may appear mid-body.
        byte[] msg = frame(SimpleRequest.newBuilder().setRequestMessage("ab").build().toByteArray());
        String part1 = Base64.getEncoder().encodeToString(java.util.Arrays.copyOfRange(msg, 0, 4));
        String part2 = Base64.getEncoder().encodeToString(java.util.Arrays.copyOfRange(msg, 4, msg.length));
        assertTrue(part1.endsWith("="), part1);
        HttpResponse<byte[]> r = post((part1 + part2).getBytes(StandardCharsets.US_ASCII),
                "application/grpc-web-text", "application/grpc-web-text");
        assertEquals(200, r.statusCode());
        Frames f = Frames.parse(Base64.getDecoder().decode(r.body()));
        assertEquals("hello ab", SimpleResponse.parseFrom(f.messages().get(0)).getResponseMessage());
        assertEquals("0", f.trailers().get("grpc-status"));
    }

    @Test
    void badBase64IsRefused() throws Exception {
        HttpResponse<byte[]> r = post("AAAAAA".getBytes(StandardCharsets.US_ASCII), "application/grpc-web-text", null);
        assertEquals(200, r.statusCode());
        assertEquals("application/grpc-web+proto", r.headers().firstValue("content-type").orElse(null));
        assertEquals("13", r.headers().firstValue("grpc-status").orElse(null));
        assertEquals("Bad gRPC-web request, invalid base64 data.", r.headers().firstValue("grpc-message").orElse(null));
    }

    @Test
    void corsPreflightThenActualRequest() throws Exception {
        Curl.Result pre = Curl.run("-X", "OPTIONS", "-H", "Origin: https://app.example",
                "-H", "Access-Control-Request-Method: POST",
                "-H", "Access-Control-Request-Headers: content-type,x-grpc-web", proxy.url(PATH));
        assertEquals(200, pre.status, pre.toString());
        assertEquals("https://app.example", pre.header("access-control-allow-origin"));
        assertEquals("content-type,x-grpc-web,x-user-agent", pre.header("access-control-allow-headers"));
        assertNull(pre.header("content-type"));

        HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(proxy.url(PATH)))
                .header("content-type", "application/grpc-web+proto").header("x-grpc-web", "1")
                .header("origin", "https://app.example")
                .POST(HttpRequest.BodyPublishers.ofByteArray(
                        frame(SimpleRequest.newBuilder().setRequestMessage("cors").build().toByteArray())))
                .build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals("https://app.example", r.headers().firstValue("access-control-allow-origin").orElse(null));
        assertEquals("grpc-status,grpc-message", r.headers().firstValue("access-control-expose-headers").orElse(null));
        assertEquals("hello cors", SimpleResponse.parseFrom(Frames.parse(r.body()).messages().get(0)).getResponseMessage());
    }

    @Test
    void plainGrpcPassesThroughAndStatsCountGrpcWebOnly() throws Exception {
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
        try {
            String p = "cluster.grpc_backend.grpc-web.grpc.testing.SimpleService.UnaryRpc.";
            long before = proxy.counter(p + "total");
            long failures = proxy.counter(p + "failure");
            SimpleResponse r = SimpleServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .unaryRpc(SimpleRequest.newBuilder().setRequestMessage("native").build());
            assertEquals("hello native", r.getResponseMessage());
            assertEquals(before, proxy.counter(p + "total"), "native gRPC is not counted as gRPC-Web");

            post(frame(SimpleRequest.newBuilder().setRequestMessage("fail").build().toByteArray()),
                    "application/grpc-web", null);
            assertEquals(before + 1, proxy.counter(p + "total"));
            assertEquals(failures + 1, proxy.counter(p + "failure"));
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
