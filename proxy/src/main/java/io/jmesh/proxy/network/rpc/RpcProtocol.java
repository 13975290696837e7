package io.jmesh.proxy.network.rpc;

import java.util.function.BiConsumer;

import io.jmesh.proxy.protocol.bolt.BoltRpcCodec;
import io.jmesh.proxy.protocol.dubbo.DubboRpcCodec;
import io.jmesh.proxy.protocol.rpc.RpcCodec;
import io.jmesh.proxy.protocol.rpc.RpcStatus;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;

/**
 * The RPC protocols built into the {@code jmesh.filters.network.rpc_proxy} filter, each backed by its
 * {@link RpcCodec} ({@link BoltRpcCodec}, {@link DubboRpcCodec}); further protocols are codecs found by
 * {@link RpcCodecs}. Also the protocol-neutral parts: the header view used for routing
 * ({@link #routingView(RpcCodec, Object)}, docs/rpc.md) and the local replies the proxy itself sends.
 *
 * <p>Messages are passed as {@code Object}. Every method runs on an event loop and never blocks; none of them
 * changes the reference count of its argument unless it says so.
 */
public enum RpcProtocol {

    /** Bolt v1/v2, the protocol of SOFARPC. */
    BOLT(BoltRpcCodec.INSTANCE),

    /** Dubbo's default protocol ({@code dubbo://}), Hessian2 bodies. */
    DUBBO(DubboRpcCodec.INSTANCE);

    /** Routing header: the service (Bolt: {@code interface:version}; Dubbo: the service path). */
    public static final String SERVICE = "service";
    /** Routing header: the method name. */
    public static final String METHOD = "method";
    /** Routing header (Dubbo): the service version. */
    public static final String VERSION = DubboRpcCodec.VERSION;
    /** Routing header (Dubbo): the service group. */
    public static final String GROUP = DubboRpcCodec.GROUP;
    /** Routing header: the protocol's name, e.g. {@code bolt} or {@code dubbo}. */
    public static final String X_RPC_PROTOCOL = "x-rpc-protocol";
    /** Dubbo attachment holding the caller's timeout in milliseconds. */
    public static final String TIMEOUT = DubboRpcCodec.TIMEOUT;

    final RpcCodec codec;

    RpcProtocol(RpcCodec codec) {
        this.codec = codec;
    }

    /** The protocol's name in configuration: {@code bolt} or {@code dubbo}. */
    public String protocolName() {
        return codec.name();
    }

    /** The protocol's codec. */
    public RpcCodec codec() {
        return codec;
    }

    /** The built-in protocol named {@code name} in configuration, or {@code null}. */
    public static RpcProtocol of(String name) {
        for (RpcProtocol p : values()) {
            if (p.codec.name().equals(name)) {
                return p;
            }
        }
        return null;
    }

    /** The built-in protocol of {@code codec}, or {@code null} for a codec loaded as an extension. */
    static RpcProtocol of(RpcCodec codec) {
        for (RpcProtocol p : values()) {
            if (p.codec == codec) {
                return p;
            }
        }
        return null;
    }

    // ---- the codec's operations, for callers that hold a protocol (tests, peers)

    ChannelHandler newDecoder(int maxFrameBytes) {
        return codec.newDecoder(maxFrameBytes);
    }

    ChannelHandler encoder() {
        return codec.encoder();
    }

    boolean isMessage(Object msg) {
        return codec.isMessage(msg);
    }

    boolean isRequest(Object msg) {
        return codec.isRequest(msg);
    }

    boolean isHeartbeat(Object request) {
        return codec.isHeartbeat(request);
    }

    Object heartbeatReply(Object request, ByteBufAllocator alloc) {
        return codec.heartbeatReply(request, alloc);
    }

    boolean isOneway(Object request) {
        return codec.isOneway(request);
    }

    long requestId(Object msg) {
        return codec.requestId(msg);
    }

    long timeoutMillis(Object request) {
        return codec.timeoutMillis(request);
    }

    HttpRequest routingView(Object request) {
        return routingView(codec, request);
    }

    Object errorReply(Object request, LocalReply reason, String message, ByteBufAllocator alloc) {
        return codec.errorReply(request, reason.status, message, alloc);
    }

    int httpStatus(Object response) {
        return codec.httpStatus(response);
    }

    /**
     * The request as an HTTP request for route matching and load balancing: every header of the request under its
     * own name, then the computed ones ({@code service}, the codec's routing fields, {@code method},
     * {@code x-rpc-protocol}), {@code :authority} the interface and {@code :path} {@code /<interface>/<method>}
     * (see docs/rpc.md). Holds no reference to {@code request}.
     */
    static HttpRequest routingView(RpcCodec codec, Object request) {
        // RPC header maps may hold names that HTTP would not accept; they are only matched, never sent.
        final HttpHeaders h = DefaultHttpHeadersFactory.headersFactory().withNameValidation(false)
                                                       .withValidation(false).newHeaders();
        codec.headers(request).forEach(h::add);
        final String service = codec.service(request);
        if (service != null) {
            h.set(SERVICE, service);
        }
        codec.forEachRoutingField(request, (BiConsumer<String, String>) h::set);
        final String method = codec.method(request);
        if (method != null) {
            h.set(METHOD, method);
        }
        h.set(X_RPC_PROTOCOL, codec.name());
        final String iface = codec.interfaceName(request);
        final String i = iface == null ? "" : iface;
        h.set(HttpHeaderNames.HOST, i);
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST,
                                      '/' + i + '/' + (method == null ? "" : method), h);
    }

    /**
     * Why the proxy answers a request itself: the neutral {@link RpcStatus} each codec turns into its own form, and
     * the access log's {@code %RESPONSE_CODE_DETAILS%}.
     */
    enum LocalReply {
        /** No route matched, or the route is not a cluster route. */
        NO_ROUTE(RpcStatus.NOT_FOUND, "route_not_found"),
        /** The route names a cluster that does not exist. */
        NO_CLUSTER(RpcStatus.NOT_FOUND, "cluster_not_found"),
        /** The cluster has no healthy host. */
        NO_HEALTHY_UPSTREAM(RpcStatus.NOT_SENT, "no_healthy_upstream"),
        /** The upstream connection could not be opened. */
        CONNECT_FAILURE(RpcStatus.NOT_SENT, "upstream_reset_before_response_started{connection_failure}"),
        /** The upstream connection closed with the request in flight. */
        UPSTREAM_RESET(RpcStatus.CONNECTION_CLOSED, "upstream_reset_before_response_started{connection_termination}"),
        /** No response within the timeout. */
        TIMEOUT(RpcStatus.TIMEOUT, "upstream_response_timeout"),
        /** A circuit breaker of the cluster ({@code max_requests}) is full. */
        OVERFLOW(RpcStatus.OVERLOADED, "upstream_reset_before_response_started{overflow}");

        final RpcStatus status;
        final String details;

        LocalReply(RpcStatus status, String details) {
            this.status = status;
            this.details = details;
        }
    }
}
