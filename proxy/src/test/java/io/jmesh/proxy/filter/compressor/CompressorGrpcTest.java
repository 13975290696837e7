package io.jmesh.proxy.filter.compressor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.ProxyFixture;

/**
 * gRPC through a proxy with the compressor and decompressor filters: {@code application/grpc} is not a compressible
 * type and gRPC bodies carry no {@code content-encoding}, so calls from a client that sends
 * {@code accept-encoding: gzip} pass untouched (gRPC compresses messages itself, with {@code grpc-encoding}).
 */
class CompressorGrpcTest {

    @Test
    void grpcCallsPassUntouched() throws Exception {
        Server backend = NettyServerBuilder.forAddress(new java.net.InetSocketAddress("127.0.0.1", 0))
                .addService(new SimpleServiceGrpc.SimpleServiceImplBase() {
                    @Override
                    public void unaryRpc(SimpleRequest req, StreamObserver<SimpleResponse> out) {
                        out.onNext(SimpleResponse.newBuilder().setResponseMessage("hi " + req.getRequestMessage()
                                + " ".repeat(500)).build());
                        out.onCompleted();
                    }
                }).build().start();
        ProxyFixture proxy = Bootstraps.http().codec("HTTP2")
                .httpFilter("envoy.filters.http.decompressor", Bootstraps.typed(
                        "envoy.extensions.filters.http.decompressor.v3.Decompressor",
                        "decompressor_library: { name: gz, typed_config: " + Bootstraps.typed(
                                "envoy.extensions.compression.gzip.decompressor.v3.Gzip", "") + " }"))
                .httpFilter(CompressorFilterTest.COMPRESSOR, Bootstraps.typed(CompressorFilterTest.TYPE,
                        CompressorFilterTest.library("gz", "gzip.compressor.v3.Gzip", "")))
                .virtualHost("grpc", "*")
                .routeYaml("{ match: { prefix: / }, route: { cluster: grpc, timeout: 0s } }")
                .http2Cluster("grpc", backend.getPort())
                .start(1);
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("accept-encoding", Metadata.ASCII_STRING_MARSHALLER), "gzip");
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", proxy.port()).usePlaintext()
                .intercept(MetadataUtils.newAttachHeadersInterceptor(headers)).build();
        try {
            SimpleServiceGrpc.SimpleServiceBlockingStub stub = SimpleServiceGrpc.newBlockingStub(channel);
            for (int i = 0; i < 3; i++) {
                assertEquals("hi " + i + " ".repeat(500), stub.unaryRpc(SimpleRequest.newBuilder()
                        .setRequestMessage(String.valueOf(i)).build()).getResponseMessage());
            }
            assertEquals(3, proxy.counter("http.ingress.compressor.gz.gzip.not_compressed"));
            assertEquals(0, proxy.counter("http.ingress.compressor.gz.gzip.compressed"));
            assertEquals(3, proxy.counter("http.ingress.decompressor.gz.gzip.response.not_decompressed"));
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            proxy.close();
            backend.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
