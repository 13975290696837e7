package io.jmesh.proxy.protocol.bolt;

import java.util.Map;
import java.util.Set;

import io.jmesh.codec.bolt.BoltDecoder;
import io.jmesh.codec.bolt.BoltEncoder;
import io.jmesh.codec.bolt.BoltMessage;
import io.jmesh.codec.bolt.BoltRequest;
import io.jmesh.codec.bolt.BoltResponse;
import io.jmesh.codec.bolt.BoltResponseStatus;
import io.jmesh.proxy.protocol.rpc.RpcCodec;
import io.jmesh.proxy.protocol.rpc.RpcStatus;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;

/**
 * Bolt v1/v2, the protocol of SOFARPC, as an {@link RpcCodec} over the {@code io.jmesh.codec.bolt} frames. The
 * service is {@code sofa_head_target_service}, else {@code service} ({@code interface:version[:uniqueId]}); the
 * method {@code sofa_head_method_name}; headers are the Bolt header map. Local replies are bare statuses, except
 * policy refusals and internal errors to a SOFARPC caller, which get a {@code SofaResponse} error carrying the
 * message (the caller sees {@code SofaRpcException} with it).
 */
public final class BoltRpcCodec implements RpcCodec {

    /** The one instance. */
    public static final BoltRpcCodec INSTANCE = new BoltRpcCodec();

    private BoltRpcCodec() {}

    @Override
    public String name() {
        return "bolt";
    }

    @Override
    public ChannelHandler newDecoder(int maxFrameBytes) {
        return new BoltDecoder(maxFrameBytes, BoltDecoder.DEFAULT_MAX_HEADER_LENGTH,
                               BoltDecoder.DEFAULT_MAX_CLASS_NAME_LENGTH);
    }

    @Override
    public ChannelHandler encoder() {
        return BoltEncoder.INSTANCE;
    }

    @Override
    public boolean isMessage(Object msg) {
        return msg instanceof BoltMessage;
    }

    @Override
    public boolean isRequest(Object msg) {
        return msg instanceof BoltRequest;
    }

    @Override
    public boolean isHeartbeat(Object request) {
        return ((BoltMessage) request).isHeartbeat();
    }

    @Override
    public Object heartbeatReply(Object request, ByteBufAllocator alloc) {
        return BoltResponse.heartbeatAck((BoltRequest) request, alloc);
    }

    @Override
    public boolean isOneway(Object request) {
        return ((BoltRequest) request).isOneway();
    }

    @Override
    public long requestId(Object msg) {
        return ((BoltMessage) msg).requestId();
    }

    @Override
    public Object withRequestId(Object msg, long id) {
        return ((BoltMessage) msg).withRequestId((int) id);
    }

    @Override
    public long nextUpstreamId(long previous) {
        // Bolt ids are int32; keep them positive, as sofa-bolt's IDGenerator does until it wraps.
        return previous >= Integer.MAX_VALUE ? 1 : previous + 1;
    }

    @Override
    public long timeoutMillis(Object request) {
        final int t = ((BoltRequest) request).timeout();
        return t > 0 ? t : 0;
    }

    @Override
    public String service(Object request) {
        final BoltRequest r = (BoltRequest) request;
        final String target = r.targetService();
        return target != null ? target : r.service();
    }

    @Override
    public String interfaceName(Object request) {
        final String service = service(request);
        if (service == null) {
            return null;
        }
        final int colon = service.indexOf(':');
        return colon < 0 ? service : service.substring(0, colon);
    }

    @Override
    public String method(Object request) {
        return ((BoltRequest) request).methodName();
    }

    @Override
    public Map<String, String> headers(Object request) {
        return ((BoltRequest) request).headers();
    }

    @Override
    public Object withHeaders(Object request, Map<String, String> added, Set<String> removed, ByteBufAllocator alloc) {
        return ((BoltRequest) request).withHeaders(added, removed, alloc);
    }

    @Override
    public Object errorReply(Object request, RpcStatus status, String message, ByteBufAllocator alloc) {
        final BoltRequest r = (BoltRequest) request;
        final short s = switch (status) {
            case NOT_FOUND -> BoltResponseStatus.NO_PROCESSOR;
            case NOT_SENT -> BoltResponseStatus.CLIENT_SEND_ERROR;
            case CONNECTION_CLOSED -> BoltResponseStatus.CONNECTION_CLOSED;
            case TIMEOUT -> BoltResponseStatus.TIMEOUT;
            case OVERLOADED -> BoltResponseStatus.SERVER_THREADPOOL_BUSY;
            case INVALID_REQUEST -> BoltResponseStatus.CODEC_EXCEPTION;
            case PERMISSION_DENIED, INTERNAL -> BoltResponseStatus.SERVER_EXCEPTION;
        };
        if (s == BoltResponseStatus.SERVER_EXCEPTION && message != null
            && BoltRequest.SOFA_REQUEST_CLASS.equals(r.className())) {
            // SOFARPC shows this message to the caller; a bare SERVER_EXCEPTION would say nothing.
            return BoltResponse.sofaError(r, message, alloc);
        }
        return BoltResponse.error(r, s, alloc);
    }

    @Override
    public int responseStatus(Object response) {
        return ((BoltResponse) response).status();
    }

    @Override
    public boolean isSuccess(Object response) {
        return !(response instanceof BoltResponse) || ((BoltResponse) response).status() == BoltResponseStatus.SUCCESS;
    }

    @Override
    public boolean isNotDelivered(Object response) {
        return response instanceof BoltResponse r && r.status() == BoltResponseStatus.CLIENT_SEND_ERROR;
    }

    @Override
    public int httpStatus(Object response) {
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

    @Override
    public String toString() {
        return "BoltRpcCodec";
    }
}
