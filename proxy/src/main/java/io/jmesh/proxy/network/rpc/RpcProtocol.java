package io.jmesh.proxy.network.rpc;

import java.util.Map;

import io.jmesh.codec.bolt.BoltDecoder;
import io.jmesh.codec.bolt.BoltEncoder;
import io.jmesh.codec.bolt.BoltMessage;
import io.jmesh.codec.bolt.BoltRequest;
import io.jmesh.codec.bolt.BoltResponse;
import io.jmesh.codec.bolt.BoltResponseStatus;
import io.jmesh.codec.dubbo.DubboDecoder;
import io.jmesh.codec.dubbo.DubboEncoder;
import io.jmesh.codec.dubbo.DubboMessage;
import io.jmesh.codec.dubbo.DubboRequest;
import io.jmesh.codec.dubbo.DubboResponse;
import io.jmesh.codec.dubbo.DubboStatus;
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
 * The RPC protocols the {@code jmesh.filters.network.rpc_proxy} filter speaks, and what the proxy needs
 * of each: its codec, request ids, heartbeats, timeouts, the header view used for routing (see
 * {@link #routingView(Object)} and docs/rpc.md) and the local error replies in the protocol's own form.
 *
 * <p>Messages are passed as {@code Object}: {@link BoltMessage} for {@link #BOLT}, {@link DubboMessage}
 * for {@link #DUBBO}. Every method runs on an event loop and never blocks; none of them changes the
 * reference count of its argument unless it says so.
 */
public enum RpcProtocol {

    /** Bolt v1/v2, the protocol of SOFARPC. */
    BOLT("bolt") {
        @Override
        ChannelHandler newDecoder(int maxFrameBytes) {
            return new BoltDecoder(maxFrameBytes, BoltDecoder.DEFAULT_MAX_HEADER_LENGTH,
                                   BoltDecoder.DEFAULT_MAX_CLASS_NAME_LENGTH);
        }

        @Override
        ChannelHandler encoder() {
            return BoltEncoder.INSTANCE;
        }

        @Override
        boolean isMessage(Object msg) {
            return msg instanceof BoltMessage;
        }

        @Override
        boolean isRequest(Object msg) {
            return msg instanceof BoltRequest;
        }

        @Override
        boolean isHeartbeat(Object request) {
            return ((BoltMessage) request).isHeartbeat();
        }

        @Override
        Object heartbeatReply(Object request, ByteBufAllocator alloc) {
            return BoltResponse.heartbeatAck((BoltRequest) request, alloc);
        }

        @Override
        boolean isOneway(Object request) {
            return ((BoltRequest) request).isOneway();
        }

        @Override
        long requestId(Object msg) {
            return ((BoltMessage) msg).requestId();
        }

        @Override
        Object withRequestId(Object msg, long id) {
            return ((BoltMessage) msg).withRequestId((int) id);
        }

        @Override
        long nextUpstreamId(long previous) {
            // Bolt ids are int32; keep them positive, as sofa-bolt's IDGenerator does until it wraps.
            return previous >= Integer.MAX_VALUE ? 1 : previous + 1;
        }

        @Override
        long timeoutMillis(Object request) {
            final int t = ((BoltRequest) request).timeout();
            return t > 0 ? t : 0;
        }

        @Override
        HttpRequest routingView(Object request) {
            final BoltRequest r = (BoltRequest) request;
            final HttpHeaders h = newHeaders();
            for (Map.Entry<String, String> e : r.headers().entrySet()) {
                h.add(e.getKey(), e.getValue());
            }
            final String target = r.targetService();
            final String service = target != null ? target : r.service();
            final String iface = interfaceOf(service);
            final String method = r.methodName();
            if (service != null) {
                h.set(SERVICE, service);
            }
            if (method != null) {
                h.set(METHOD, method);
            }
            h.set(X_RPC_PROTOCOL, name);
            return view(h, iface, method);
        }

        @Override
        Object errorReply(Object request, LocalReply reason, String message, ByteBufAllocator alloc) {
            return BoltResponse.error((BoltRequest) request, reason.boltStatus, alloc);
        }

        @Override
        int responseStatus(Object response) {
            return ((BoltResponse) response).status();
        }

        @Override
        boolean isSuccess(Object response) {
            return !(response instanceof BoltResponse)
                   || ((BoltResponse) response).status() == BoltResponseStatus.SUCCESS;
        }

        @Override
        boolean isNotDelivered(Object response) {
            return response instanceof BoltResponse r && r.status() == BoltResponseStatus.CLIENT_SEND_ERROR;
        }

        @Override
        int httpStatus(Object response) {
            return switch (((BoltResponse) response).status()) {
                case BoltResponseStatus.SUCCESS -> 200;
                case BoltResponseStatus.NO_PROCESSOR -> 404;
                case BoltResponseStatus.SERVER_DESERIAL_EXCEPTION, BoltResponseStatus.CODEC_EXCEPTION -> 400;
                case BoltResponseStatus.SERVER_THREADPOOL_BUSY, BoltResponseStatus.CLIENT_SEND_ERROR,
                     BoltResponseStatus.CONNECTION_CLOSED -> 503;
                case BoltResponseStatus.ERROR_COMM -> 502;
                case BoltResponseStatus.TIMEOUT -> 504;
                default -> 500; // ERROR, SERVER_EXCEPTION, UNKNOWN, SERVER_SERIAL_EXCEPTION, anything newer
            };
        }
    },

    /** Dubbo's default protocol ({@code dubbo://}), Hessian2 bodies. */
    DUBBO("dubbo") {
        @Override
        ChannelHandler newDecoder(int maxFrameBytes) {
            return new DubboDecoder(maxFrameBytes);
        }

        @Override
        ChannelHandler encoder() {
            return DubboEncoder.INSTANCE;
        }

        @Override
        boolean isMessage(Object msg) {
            return msg instanceof DubboMessage;
        }

        @Override
        boolean isRequest(Object msg) {
            return msg instanceof DubboRequest;
        }

        @Override
        boolean isHeartbeat(Object request) {
            // Every event (heartbeat, read-only notice) is a connection-level matter, answered locally.
            return ((DubboMessage) request).isEvent();
        }

        @Override
        Object heartbeatReply(Object request, ByteBufAllocator alloc) {
            final DubboRequest r = (DubboRequest) request;
            return r.isTwoWay() ? DubboResponse.heartbeat(r, alloc) : null;
        }

        @Override
        boolean isOneway(Object request) {
            return !((DubboRequest) request).isTwoWay();
        }

        @Override
        long requestId(Object msg) {
            return ((DubboMessage) msg).requestId();
        }

        @Override
        Object withRequestId(Object msg, long id) {
            return ((DubboMessage) msg).withRequestId(id);
        }

        @Override
        long nextUpstreamId(long previous) {
            return previous == Long.MAX_VALUE ? 1 : previous + 1;
        }

        @Override
        long timeoutMillis(Object request) {
            final String t = ((DubboRequest) request).attachment(TIMEOUT);
            if (t == null) {
                return 0;
            }
            try {
                final long v = Long.parseLong(t.trim());
                return v > 0 ? v : 0;
            } catch (NumberFormatException e) {
                return 0;
            }
        }

        @Override
        HttpRequest routingView(Object request) {
            final DubboRequest r = (DubboRequest) request;
            final HttpHeaders h = newHeaders();
            for (Map.Entry<String, String> e : r.attachments().entrySet()) {
                h.add(e.getKey(), e.getValue());
            }
            final String iface = r.interfaceName();
            if (r.servicePath() != null) {
                h.set(SERVICE, r.servicePath());
            }
            if (r.serviceVersion() != null) {
                h.set(VERSION, r.serviceVersion());
            }
            final String group = r.group();
            if (group != null) {
                h.set(GROUP, group);
            }
            if (r.methodName() != null) {
                h.set(METHOD, r.methodName());
            }
            h.set(X_RPC_PROTOCOL, name);
            return view(h, iface, r.methodName());
        }

        @Override
        Object errorReply(Object request, LocalReply reason, String message, ByteBufAllocator alloc) {
            return DubboResponse.error((DubboRequest) request, reason.dubboStatus, message, alloc);
        }

        @Override
        int responseStatus(Object response) {
            return ((DubboResponse) response).status();
        }

        @Override
        boolean isSuccess(Object response) {
            return !(response instanceof DubboResponse) || ((DubboResponse) response).isOk();
        }

        @Override
        boolean isNotDelivered(Object response) {
            return response instanceof DubboResponse r && r.status() == DubboStatus.CHANNEL_INACTIVE;
        }

        @Override
        int httpStatus(Object response) {
            return switch (((DubboResponse) response).status()) {
                case DubboStatus.OK -> 200; // a business exception travels with OK, in the body
                case DubboStatus.SERVICE_NOT_FOUND -> 404;
                case DubboStatus.BAD_REQUEST, DubboStatus.CLIENT_ERROR -> 400;
                case DubboStatus.SERVER_THREADPOOL_EXHAUSTED_ERROR, DubboStatus.CHANNEL_INACTIVE -> 503;
                case DubboStatus.SERVER_TIMEOUT, DubboStatus.CLIENT_TIMEOUT -> 504;
                default -> 500; // SERVER_ERROR, SERVICE_ERROR, BAD_RESPONSE, SERIALIZATION_ERROR, anything newer
            };
        }
    };

    /** Routing header: the service (Bolt: {@code interface:version}; Dubbo: the service path). */
    public static final String SERVICE = "service";
    /** Routing header: the method name. */
    public static final String METHOD = "method";
    /** Routing header (Dubbo): the service version. */
    public static final String VERSION = "version";
    /** Routing header (Dubbo): the service group. */
    public static final String GROUP = "group";
    /** Routing header: {@code bolt} or {@code dubbo}. */
    public static final String X_RPC_PROTOCOL = "x-rpc-protocol";
    /** Dubbo attachment holding the caller's timeout in milliseconds. */
    public static final String TIMEOUT = "timeout";

    final String name;

    RpcProtocol(String name) {
        this.name = name;
    }

    /** The protocol's name in configuration: {@code bolt} or {@code dubbo}. */
    public String protocolName() {
        return name;
    }

    /** The protocol named {@code name} in configuration, or {@code null}. */
    public static RpcProtocol of(String name) {
        for (RpcProtocol p : values()) {
            if (p.name.equals(name)) {
                return p;
            }
        }
        return null;
    }

    /** A new frame decoder accepting frames of up to {@code maxFrameBytes}. */
    abstract ChannelHandler newDecoder(int maxFrameBytes);

    /** The (sharable) frame encoder. */
    abstract ChannelHandler encoder();

    /** Whether {@code msg} is a message of this protocol. */
    abstract boolean isMessage(Object msg);

    /** Whether {@code msg} is a request (else a response). */
    abstract boolean isRequest(Object msg);

    /** Whether the request is a heartbeat (or, for Dubbo, any event), answered by the proxy itself. */
    abstract boolean isHeartbeat(Object request);

    /** The reply to a heartbeat request, or {@code null} when none is expected; a new message the caller owns. */
    abstract Object heartbeatReply(Object request, ByteBufAllocator alloc);

    /** Whether the request expects no response. */
    abstract boolean isOneway(Object request);

    abstract long requestId(Object msg);

    /** A view with another request id, sharing the reference count of {@code msg}. */
    abstract Object withRequestId(Object msg, long id);

    /** The next upstream request id after {@code previous}, within the protocol's id range. */
    abstract long nextUpstreamId(long previous);

    /** The timeout the caller put in the frame, in milliseconds; 0 when none. */
    abstract long timeoutMillis(Object request);

    /**
     * The request as an HTTP request for route matching and load balancing: a header per RPC field,
     * {@code :authority} the interface and {@code :path} {@code /<interface>/<method>} (see docs/rpc.md).
     * Holds no reference to {@code request}.
     */
    abstract HttpRequest routingView(Object request);

    /** A local error reply answering {@code request} in the protocol's own form; a new message the caller owns. */
    abstract Object errorReply(Object request, LocalReply reason, String message, ByteBufAllocator alloc);

    /** The protocol's status of a response (Bolt {@code respStatus}, Dubbo status byte). */
    abstract int responseStatus(Object response);

    /** Whether the response reports success. */
    abstract boolean isSuccess(Object response);

    /**
     * Whether the response says that the call never reached an application: the "not sent" status of a client
     * (Bolt {@code CLIENT_SEND_ERROR}, Dubbo {@code CHANNEL_INACTIVE}), which a server never sends but the
     * provider's sidecar does when it cannot connect to its application. Such a call is safe to retry elsewhere.
     */
    abstract boolean isNotDelivered(Object response);

    /**
     * The HTTP status class a response counts as for outlier detection and {@code upstream_rq_<code>} stats, as
     * Envoy's generic proxies map their protocols: success 200; "not found" 404; a malformed request 400;
     * overload and "not sent" 503; timeouts 504; every other error 500 (see docs/rpc.md for the full table).
     */
    abstract int httpStatus(Object response);

    /** The interface of a service name {@code interface[:version[:uniqueId]]}, or {@code ""}. */
    static String interfaceOf(String service) {
        if (service == null) {
            return "";
        }
        final int colon = service.indexOf(':');
        return colon < 0 ? service : service.substring(0, colon);
    }

    private static HttpHeaders newHeaders() {
        // RPC header maps may hold names that HTTP would not accept; they are only matched, never sent.
        return DefaultHttpHeadersFactory.headersFactory().withNameValidation(false).withValidation(false)
                                        .newHeaders();
    }

    private static HttpRequest view(HttpHeaders headers, String iface, String method) {
        final String i = iface == null ? "" : iface;
        headers.set(HttpHeaderNames.HOST, i);
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST,
                                      '/' + i + '/' + (method == null ? "" : method), headers);
    }

    /**
     * Why the proxy answers a request itself, with the status each protocol uses for it. "Not sent" replies
     * ({@link #NO_HEALTHY_UPSTREAM}, {@link #CONNECT_FAILURE}) use statuses that only a client side produces (Bolt
     * {@code CLIENT_SEND_ERROR}, Dubbo {@code CHANNEL_INACTIVE}), so that a sidecar receiving one from another
     * sidecar knows the call never reached an application ({@link RpcProtocol#isNotDelivered}).
     */
    enum LocalReply {
        /** No route matched, or the route is not a cluster route. */
        NO_ROUTE(BoltResponseStatus.NO_PROCESSOR, DubboStatus.SERVICE_NOT_FOUND, "route_not_found"),
        /** The route names a cluster that does not exist. */
        NO_CLUSTER(BoltResponseStatus.NO_PROCESSOR, DubboStatus.SERVICE_NOT_FOUND, "cluster_not_found"),
        /** The cluster has no healthy host. */
        NO_HEALTHY_UPSTREAM(BoltResponseStatus.CLIENT_SEND_ERROR, DubboStatus.CHANNEL_INACTIVE,
                            "no_healthy_upstream"),
        /** The upstream connection could not be opened. */
        CONNECT_FAILURE(BoltResponseStatus.CLIENT_SEND_ERROR, DubboStatus.CHANNEL_INACTIVE,
                        "upstream_reset_before_response_started{connection_failure}"),
        /** The upstream connection closed with the request in flight. */
        UPSTREAM_RESET(BoltResponseStatus.CONNECTION_CLOSED, DubboStatus.SERVER_ERROR,
                       "upstream_reset_before_response_started{connection_termination}"),
        /** No response within the timeout. */
        TIMEOUT(BoltResponseStatus.TIMEOUT, DubboStatus.SERVER_TIMEOUT, "upstream_response_timeout"),
        /**
         * A circuit breaker of the cluster ({@code max_requests}) is full: the statuses a busy server answers
         * with (sofa-bolt {@code SERVER_THREADPOOL_BUSY}, Dubbo {@code SERVER_THREADPOOL_EXHAUSTED_ERROR}).
         */
        OVERFLOW(BoltResponseStatus.SERVER_THREADPOOL_BUSY, DubboStatus.SERVER_THREADPOOL_EXHAUSTED_ERROR,
                 "upstream_reset_before_response_started{overflow}");

        final short boltStatus;
        final byte dubboStatus;
        final String details;

        LocalReply(short boltStatus, byte dubboStatus, String details) {
            this.boltStatus = boltStatus;
            this.dubboStatus = dubboStatus;
            this.details = details;
        }
    }
}
