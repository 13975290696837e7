package io.jmesh.proxy.protocol.dubbo;

import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

import io.jmesh.codec.dubbo.DubboDecoder;
import io.jmesh.codec.dubbo.DubboEncoder;
import io.jmesh.codec.dubbo.DubboMessage;
import io.jmesh.codec.dubbo.DubboRequest;
import io.jmesh.codec.dubbo.DubboResponse;
import io.jmesh.codec.dubbo.DubboStatus;
import io.jmesh.proxy.protocol.rpc.RpcCodec;
import io.jmesh.proxy.protocol.rpc.RpcStatus;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;

/**
 * Dubbo's default protocol ({@code dubbo://}, Hessian2 bodies) as an {@link RpcCodec} over the
 * {@code io.jmesh.codec.dubbo} frames. The service is the service path, the interface the {@code interface}
 * attachment (else the path), headers the attachments with scalar values; routing fields add {@code version} and
 * {@code group}. Every event (heartbeat, read-only notice) is answered locally. Local replies carry a message.
 */
public final class DubboRpcCodec implements RpcCodec {

    /** The one instance. */
    public static final DubboRpcCodec INSTANCE = new DubboRpcCodec();

    /** Routing field: the service version. */
    public static final String VERSION = "version";
    /** Routing field: the service group. */
    public static final String GROUP = "group";
    /** The attachment holding the caller's timeout in milliseconds. */
    public static final String TIMEOUT = "timeout";

    private DubboRpcCodec() {}

    @Override
    public String name() {
        return "dubbo";
    }

    @Override
    public ChannelHandler newDecoder(int maxFrameBytes) {
        return new DubboDecoder(maxFrameBytes);
    }

    @Override
    public ChannelHandler encoder() {
        return DubboEncoder.INSTANCE;
    }

    @Override
    public boolean isMessage(Object msg) {
        return msg instanceof DubboMessage;
    }

    @Override
    public boolean isRequest(Object msg) {
        return msg instanceof DubboRequest;
    }

    @Override
    public boolean isHeartbeat(Object request) {
        return ((DubboMessage) request).isEvent();
    }

    @Override
    public Object heartbeatReply(Object request, ByteBufAllocator alloc) {
        final DubboRequest r = (DubboRequest) request;
        return r.isTwoWay() ? DubboResponse.heartbeat(r, alloc) : null;
    }

    @Override
    public boolean isOneway(Object request) {
        return !((DubboRequest) request).isTwoWay();
    }

    @Override
    public long requestId(Object msg) {
        return ((DubboMessage) msg).requestId();
    }

    @Override
    public Object withRequestId(Object msg, long id) {
        return ((DubboMessage) msg).withRequestId(id);
    }

    @Override
    public long nextUpstreamId(long previous) {
        return previous == Long.MAX_VALUE ? 1 : previous + 1;
    }

    @Override
    public long timeoutMillis(Object request) {
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
    public String service(Object request) {
        return ((DubboRequest) request).servicePath();
    }

    @Override
    public String interfaceName(Object request) {
        return ((DubboRequest) request).interfaceName();
    }

    @Override
    public String method(Object request) {
        return ((DubboRequest) request).methodName();
    }

    @Override
    public Map<String, String> headers(Object request) {
        return ((DubboRequest) request).attachments();
    }

    @Override
    public void forEachRoutingField(Object request, BiConsumer<String, String> action) {
        final DubboRequest r = (DubboRequest) request;
        if (r.serviceVersion() != null) {
            action.accept(VERSION, r.serviceVersion());
        }
        final String group = r.group();
        if (group != null) {
            action.accept(GROUP, group);
        }
    }

    @Override
    public Object withHeaders(Object request, Map<String, String> added, Set<String> removed, ByteBufAllocator alloc) {
        return ((DubboRequest) request).withAttachments(added, removed, alloc);
    }

    @Override
    public Object errorReply(Object request, RpcStatus status, String message, ByteBufAllocator alloc) {
        final byte s = switch (status) {
            case NOT_FOUND -> DubboStatus.SERVICE_NOT_FOUND;
            case NOT_SENT -> DubboStatus.CHANNEL_INACTIVE;
            case CONNECTION_CLOSED, INTERNAL -> DubboStatus.SERVER_ERROR;
            case TIMEOUT -> DubboStatus.SERVER_TIMEOUT;
            case OVERLOADED -> DubboStatus.SERVER_THREADPOOL_EXHAUSTED_ERROR;
            case PERMISSION_DENIED, INVALID_REQUEST -> DubboStatus.BAD_REQUEST;
        };
        return DubboResponse.error((DubboRequest) request, s, message, alloc);
    }

    @Override
    public int responseStatus(Object response) {
        return ((DubboResponse) response).status();
    }

    @Override
    public boolean isSuccess(Object response) {
        return !(response instanceof DubboResponse) || ((DubboResponse) response).isOk();
    }

    @Override
    public boolean isNotDelivered(Object response) {
        return response instanceof DubboResponse r && r.status() == DubboStatus.CHANNEL_INACTIVE;
    }

    @Override
    public int httpStatus(Object response) {
        return switch (((DubboResponse) response).status()) {
            case DubboStatus.OK -> 200; // a business exception travels with OK, in the body
            case DubboStatus.SERVICE_NOT_FOUND -> 404;
            case DubboStatus.BAD_REQUEST, DubboStatus.CLIENT_ERROR -> 400;
            case DubboStatus.SERVER_THREADPOOL_EXHAUSTED_ERROR, DubboStatus.CHANNEL_INACTIVE -> 503;
            case DubboStatus.SERVER_TIMEOUT, DubboStatus.CLIENT_TIMEOUT -> 504;
            default -> 500; // SERVER_ERROR, SERVICE_ERROR, BAD_RESPONSE, SERIALIZATION_ERROR, anything newer
        };
    }

    @Override
    public String toString() {
        return "DubboRpcCodec";
    }
}
