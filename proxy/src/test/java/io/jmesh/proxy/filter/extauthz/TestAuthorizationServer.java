package io.jmesh.proxy.filter.extauthz;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.rpc.Status;

import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.auth.v3.DeniedHttpResponse;
import io.envoyproxy.envoy.service.auth.v3.OkHttpResponse;
import io.envoyproxy.envoy.type.v3.HttpStatus;
import io.envoyproxy.envoy.type.v3.StatusCode;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;

/**
 * A real gRPC {@code envoy.service.auth.v3.Authorization} server (grpc-java, plaintext or TLS, port 0 of 127.0.0.1): it
 * allows a request carrying {@code x-user: alice} (adding {@code x-authz-user: alice} upstream,
 * {@code x-authz: ok} to the response and dynamic metadata {@code user: alice}), answers a request carrying
 * {@code x-hang} never, and denies the rest with 401, {@code www-authenticate: Bearer} and body
 * {@code denied by test}. A connection's check is allowed when {@link #allowConnections}. Every request it gets is queued in {@link #received}.
 */
final class TestAuthorizationServer implements AutoCloseable {

    final BlockingQueue<CheckRequest> received = new LinkedBlockingQueue<>();
    /** Whether a connection's check (one without an HTTP request) is allowed. */
    volatile boolean allowConnections;
    private final Server server;

    TestAuthorizationServer() throws IOException {
        this(InsecureServerCredentials.create());
    }

    /** The same server with these credentials (e.g. {@code TlsServerCredentials}: the checks then arrive over TLS). */
    TestAuthorizationServer(ServerCredentials credentials) throws IOException {
        server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), credentials)
                .addService(new AuthorizationGrpc.AuthorizationImplBase() {
                    @Override
                    public void check(CheckRequest request, StreamObserver<CheckResponse> response) {
                        received.add(request);
                        var headers = request.getAttributes().getRequest().getHttp().getHeadersMap();
                        if (headers.containsKey("x-hang")) {
                            return;
                        }
                        boolean connection = !request.getAttributes().getRequest().hasHttp();
                        if (connection ? allowConnections : "alice".equals(headers.get("x-user"))) {
                            response.onNext(CheckResponse.newBuilder()
                                    .setStatus(Status.newBuilder().setCode(0))
                                    .setOkResponse(OkHttpResponse.newBuilder()
                                            .addHeaders(header("x-authz-user", "alice"))
                                            .addHeadersToRemove("x-user")
                                            .addResponseHeadersToAdd(header("x-authz", "ok")))
                                    .setDynamicMetadata(Struct.newBuilder().putFields("user",
                                            Value.newBuilder().setStringValue("alice").build()))
                                    .build());
                        } else {
                            response.onNext(CheckResponse.newBuilder()
                                    .setStatus(Status.newBuilder().setCode(7))
                                    .setDeniedResponse(DeniedHttpResponse.newBuilder()
                                            .setStatus(HttpStatus.newBuilder().setCode(StatusCode.Unauthorized))
                                            .addHeaders(header("www-authenticate", "Bearer"))
                                            .setBody("denied by test"))
                                    .build());
                        }
                        response.onCompleted();
                    }
                })
                .build();
        server.start();
    }

    private static HeaderValueOption header(String name, String value) {
        return HeaderValueOption.newBuilder().setHeader(HeaderValue.newBuilder().setKey(name).setValue(value)).build();
    }

    int port() {
        return ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
    }

    @Override
    public void close() throws InterruptedException {
        server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
}
