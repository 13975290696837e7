package io.jmesh.proxy.filter.grpcjson;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.api.AnnotationsProto;
import com.google.api.HttpRule;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.DescriptorProtos.MethodDescriptorProto;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.grpc.testing.protobuf.SimpleServiceProto;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;

/**
 * {@code envoy.filters.http.grpc_json_transcoder}: curl (HTTP/1.1 and HTTP/2) with JSON, through the proxy, to a
 * real gRPC-Java server, with a descriptor set built in the test from the service's FileDescriptor and
 * {@code google.api.http} rules added to it.
 */
class GrpcJsonTranscoderFilterTest {

    private static final String NAME = "envoy.filters.http.grpc_json_transcoder";
    private static final String TYPE = "envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder";

    static Server server;
    static ProxyFixture proxy;

    /** The simple service's descriptor set, with HTTP rules on UnaryRpc and ServerStreamingRpc. */
    static byte[] descriptorSet() {
        FileDescriptorProto.Builder f = SimpleServiceProto.getDescriptor().toProto().toBuilder();
        var service = f.getServiceBuilder(0);
        for (MethodDescriptorProto.Builder m : service.getMethodBuilderList()) {
            HttpRule rule = switch (m.getName()) {
                case "UnaryRpc" -> HttpRule.newBuilder().setPost("/v1/echo").setBody("*")
                        .addAdditionalBindings(HttpRule.newBuilder().setGet("/v1/echo/{requestMessage}")).build();
                case "ServerStreamingRpc" -> HttpRule.newBuilder().setGet("/v1/stream/{requestMessage=**}").build();
                default -> null;
            };
            if (rule != null) {
                m.getOptionsBuilder().setExtension(AnnotationsProto.http, rule);
            }
        }
        return FileDescriptorSet.newBuilder().addFile(f).build().toByteArray();
    }

    static String config(String extra) {
        return Bootstraps.typed(TYPE, "proto_descriptor_bin: \"" + Base64.getEncoder().encodeToString(descriptorSet())
                + "\", services: [grpc.testing.SimpleService]" + extra);
    }

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
                    public void serverStreamingRpc(SimpleRequest req, StreamObserver<SimpleResponse> out) {
                        out.onNext(SimpleResponse.newBuilder().setResponseMessage("1 " + req.getRequestMessage()).build());
                        out.onNext(SimpleResponse.newBuilder().setResponseMessage("2 " + req.getRequestMessage()).build());
                        out.onCompleted();
                    }
                }).build().start();
        proxy = Bootstraps.http()
                .httpFilter(NAME, config(""))
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

    @Test
    void postJsonBody() throws Exception {
        Curl.Result r = Curl.run("-H", "content-type: application/json", "--data-binary", "{\"requestMessage\":\"json\"}",
                proxy.url("/v1/echo"));
        assertEquals(200, r.status, r.toString());
        assertEquals("application/json", r.header("content-type"));
        assertEquals("{\"responseMessage\":\"hello json\"}", r.body);
        assertEquals("0", r.header("grpc-status"));
    }

    @Test
    void getWithPathVariableOverHttp2() throws Exception {
        Curl.Result r = Curl.run("--http2-prior-knowledge", proxy.url("/v1/echo/path%20var"));
        assertEquals(200, r.status, r.toString());
        assertEquals("HTTP/2", r.httpVersion);
        assertEquals("{\"responseMessage\":\"hello path var\"}", r.body);
    }

    @Test
    void grpcErrorBecomesHttpStatus() throws Exception {
        Curl.Result r = Curl.run(proxy.url("/v1/echo/fail"));
        assertEquals(404, r.status, r.toString());
        assertEquals("5", r.header("grpc-status"));
        assertEquals("no such thing", r.header("grpc-message"));
    }

    @Test
    void serverStreamingIsAJsonArray() throws Exception {
        Curl.Result r = Curl.run(proxy.url("/v1/stream/a/b"));
        assertEquals(200, r.status, r.toString());
        assertEquals("[{\"responseMessage\":\"1 a/b\"},{\"responseMessage\":\"2 a/b\"}]", r.body);
    }

    @Test
    void badJsonAndUnknownQueryParameterAre400() throws Exception {
        Curl.Result bad = Curl.run("--data-binary", "{not json", proxy.url("/v1/echo"));
        assertEquals(400, bad.status, bad.toString());
        Curl.Result unknown = Curl.run(proxy.url("/v1/echo/x?nosuch=1"));
        assertEquals(400, unknown.status, unknown.toString());
        assertEquals("Could not find field \"nosuch\" in the type \"grpc.testing.SimpleRequest\".", unknown.body);
    }

    @Test
    void unmatchedAndNativeGrpcPassThrough() throws Exception {
        assertEquals(415, Curl.run(proxy.url("/not/mapped")).status,
                "goes untranscoded to gRPC-Java, which refuses a non-gRPC content type");
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext().build();
        try {
            assertEquals("hello native", SimpleServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .unaryRpc(SimpleRequest.newBuilder().setRequestMessage("native").build()).getResponseMessage());
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void descriptorFileAndPrintOptions(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("simple.pb");
        Files.write(file, descriptorSet());
        try (ProxyFixture p = Bootstraps.http()
                .httpFilter(NAME, Bootstraps.typed(TYPE, "proto_descriptor: \"" + file + "\","
                        + " services: [grpc.testing.SimpleService], print_options: { add_whitespace: true }"))
                .route("/", "grpc_backend")
                .http2Cluster("grpc_backend", server.getPort())
                .start(1)) {
            Curl.Result r = Curl.run("--data-binary", "{\"requestMessage\":\"file\"}", p.url("/v1/echo"));
            assertEquals(200, r.status, r.toString());
            assertEquals("{\n  \"responseMessage\": \"hello file\"\n}", r.body);
        }
    }

    @Test
    void badConfigNamesTheField() {
        ConfigException unknown = assertThrows(ConfigException.class, () -> Bootstraps.http()
                .httpFilter(NAME, Bootstraps.typed(TYPE, "proto_descriptor_bin: \""
                        + Base64.getEncoder().encodeToString(descriptorSet()) + "\", services: [no.Such]"))
                .route("/", "grpc_backend").http2Cluster("grpc_backend", server.getPort()).start(1).close());
        assertTrue(unknown.getMessage().contains("typed_config.services[0]: no.Such (expected: a service of the"
                + " proto_descriptor_bin)"), unknown.getMessage());
        ConfigException refused = assertThrows(ConfigException.class, () -> Bootstraps.http()
                .httpFilter(NAME, config(", convert_grpc_status: true"))
                .route("/", "grpc_backend").http2Cluster("grpc_backend", server.getPort()).start(1).close());
        assertTrue(refused.getMessage().contains("typed_config.convert_grpc_status: true (expected: unset"),
                refused.getMessage());
    }
}
