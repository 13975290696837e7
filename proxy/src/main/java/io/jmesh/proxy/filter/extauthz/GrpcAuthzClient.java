package io.jmesh.proxy.filter.extauthz;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;

import com.google.protobuf.InvalidProtocolBufferException;

import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.jmesh.proxy.upstream.ClusterManager;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;

/**
 * {@code envoy.service.auth.v3.Authorization/Check}, a unary gRPC call sent as Envoy's {@code envoy_grpc} client sends
 * it: an HTTP/2 request through the cluster (its load balancer, connection pool and {@code transport_socket}, so TLS
 * and Istio's mutual TLS apply; see {@link ClusterCall}), {@code :authority} the {@code envoy_grpc.authority} or the
 * cluster name, {@code grpc-timeout} the call's timeout. A {@code grpc-status} other than 0, a non-200 answer or an
 * unreadable message is an error. Thread-safe.
 */
final class GrpcAuthzClient implements AuthzClient {

    static final String PATH = "/envoy.service.auth.v3.Authorization/Check";

    private final Supplier<ClusterManager> clusters;
    private final String cluster;
    private final String authority;

    GrpcAuthzClient(Supplier<ClusterManager> clusters, String cluster, String authority) {
        this.clusters = clusters;
        this.cluster = cluster;
        this.authority = authority.isEmpty() ? cluster : authority;
    }

    @Override
    public void check(CheckRequest request, long timeoutMillis, EventLoop loop, Consumer<AuthzResult> done) {
        byte[] message = request.toByteArray();
        ClusterCall.start(clusters, cluster, loop, true, timeoutMillis, host -> {
            ByteBuf frame = Unpooled.buffer(5 + message.length);
            frame.writeByte(0).writeInt(message.length).writeBytes(message);
            DefaultFullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, PATH, frame);
            req.headers().set(HttpHeaderNames.HOST, authority)
                    .set(HttpHeaderNames.CONTENT_TYPE, "application/grpc")
                    .set(HttpHeaderNames.TE, "trailers")
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, frame.readableBytes());
            if (timeoutMillis > 0) {
                req.headers().set("grpc-timeout", timeoutMillis + "m");
            }
            return req;
        }, o -> done.accept(o.error() != null ? AuthzResult.error(o.error()) : fromAnswer(o.answer())));
    }

    /** The result of a gRPC answer: its status, then its one message. */
    static AuthzResult fromAnswer(ClusterCall.Answer a) {
        if (a.status() != 200) {
            return AuthzResult.error("gRPC answer with HTTP status " + a.status());
        }
        String grpcStatus = a.trailers().get("grpc-status", a.headers().get("grpc-status"));
        if (grpcStatus == null) {
            return AuthzResult.error("gRPC answer without grpc-status");
        }
        if (!grpcStatus.equals("0")) {
            String message = a.trailers().get("grpc-message", a.headers().get("grpc-message"));
            return AuthzResult.error("grpc-status " + grpcStatus + (message == null ? "" : ": "
                    + QueryStringDecoder.decodeComponent(message.replace("+", "%2B"))));
        }
        byte[] b = a.body();
        if (b.length < 5 || b[0] != 0) {
            return AuthzResult.error(b.length < 5 ? "no CheckResponse" : "compressed CheckResponse (not supported)");
        }
        int length = ((b[1] & 0xff) << 24) | ((b[2] & 0xff) << 16) | ((b[3] & 0xff) << 8) | (b[4] & 0xff);
        if (length < 0 || length != b.length - 5) {
            return AuthzResult.error("CheckResponse frame of " + length + " bytes in a body of " + b.length);
        }
        try {
            return toResult(CheckResponse.parseFrom(java.nio.ByteBuffer.wrap(b, 5, length)));
        } catch (InvalidProtocolBufferException e) {
            return AuthzResult.error("unreadable CheckResponse: " + e.getMessage());
        }
    }

    /** Maps a {@code CheckResponse}: status code 0 is OK, any other is DENIED (Envoy's gRPC client). */
    static AuthzResult toResult(CheckResponse r) {
        boolean ok = r.getStatus().getCode() == 0;
        if (ok) {
            var o = r.getOkResponse();
            return new AuthzResult(AuthzResult.Status.OK, 200, actions(o.getHeadersList()), o.getHeadersToRemoveList(),
                    actions(o.getResponseHeadersToAddList()), "", r.hasDynamicMetadata() ? r.getDynamicMetadata() : null,
                    null);
        }
        var d = r.getDeniedResponse();
        int code = d.hasStatus() && d.getStatus().getCodeValue() >= 100 ? d.getStatus().getCodeValue() : 403;
        return new AuthzResult(AuthzResult.Status.DENIED, code, List.of(), List.of(), actions(d.getHeadersList()),
                d.getBody(), r.hasDynamicMetadata() ? r.getDynamicMetadata() : null, null);
    }

    @SuppressWarnings("deprecation") // append: deprecated for append_action, still what services send
    private static List<AuthzResult.HeaderAction> actions(List<HeaderValueOption> options) {
        List<AuthzResult.HeaderAction> out = new ArrayList<>(options.size());
        for (HeaderValueOption o : options) {
            // In ext_authz answers an unset append means "override" (external_auth.proto).
            boolean append = o.hasAppend() && o.getAppend().getValue();
            out.add(new AuthzResult.HeaderAction(o.getHeader().getKey().toLowerCase(java.util.Locale.ROOT),
                    o.getHeader().getValue(), append));
        }
        return out;
    }
}
