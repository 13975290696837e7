package io.jmesh.proxy.protocol.rpc;

import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;

/**
 * One RPC protocol for the {@code jmesh.filters.network.rpc_proxy} generic proxy: what the proxy needs of it (Envoy
 * generic proxy's {@code CodecFactory}/{@code ServerCodec}/{@code ClientCodec}, codec.h). Implementations are
 * stateless singletons found by {@link #name()} ({@code protocol} in the filter config), built in (Bolt, Dubbo) or
 * loaded with {@link java.util.ServiceLoader}.
 *
 * <p>Messages are the objects the codec's decoder produces, passed as {@code Object}; they are reference counted
 * ({@link io.netty.util.ReferenceCounted}) and no method changes a reference count unless it says so. Only the
 * routing fields are ever decoded; bodies are forwarded as they came. Every method runs on an event loop and must not
 * block.
 */
public interface RpcCodec {

    /** The protocol's name in configuration and in {@code %PROTOCOL%}, e.g. {@code bolt}. */
    String name();

    /** A new frame decoder accepting frames of up to {@code maxFrameBytes}, failing closed on malformed input. */
    ChannelHandler newDecoder(int maxFrameBytes);

    /** The (sharable) frame encoder. */
    ChannelHandler encoder();

    /** Whether {@code msg} is a message of this protocol. */
    boolean isMessage(Object msg);

    /** Whether {@code msg} is a request (else a response). */
    boolean isRequest(Object msg);

    /** Whether the request is a heartbeat (or another connection-level event), answered by the proxy itself. */
    boolean isHeartbeat(Object request);

    /** The reply to a heartbeat request, or null when none is expected; a new message the caller owns. */
    Object heartbeatReply(Object request, ByteBufAllocator alloc);

    /** Whether the request expects no response. */
    boolean isOneway(Object request);

    /** The message's request id. */
    long requestId(Object msg);

    /** A view with another request id, sharing the reference count of {@code msg}. */
    Object withRequestId(Object msg, long id);

    /** The next upstream request id after {@code previous}, within the protocol's id range. */
    long nextUpstreamId(long previous);

    /** The timeout the caller put in the frame, in milliseconds; 0 when none. */
    long timeoutMillis(Object request);

    /** The service as the request names it (Bolt {@code interface:version[:uniqueId]}, Dubbo the path), or null. */
    String service(Object request);

    /** The interface: the service without version (the virtual host {@code :authority} of routing), or null. */
    String interfaceName(Object request);

    /** The method name, or null. */
    String method(Object request);

    /** The request's own headers (Bolt header map, Dubbo attachments), unmodifiable, in wire order. */
    Map<String, String> headers(Object request);

    /**
     * Further computed routing fields besides {@code service} and {@code method} (Dubbo: {@code version},
     * {@code group}); none by default.
     */
    default void forEachRoutingField(Object request, BiConsumer<String, String> action) {}

    /**
     * A new request without the headers named in {@code removed} and with {@code added} (later entries replacing
     * earlier ones; a name in both ends up with its {@code added} value), as the provider will read them; the body is
     * shared, not copied. {@code request} is neither retained nor released; the result holds its own reference, which
     * the caller owns.
     *
     * @throws UnsupportedOperationException if the protocol cannot carry added headers or remove headers
     */
    Object withHeaders(Object request, Map<String, String> added, Set<String> removed, ByteBufAllocator alloc);

    /**
     * A local error reply answering {@code request} in the protocol's own form (see {@link RpcStatus});
     * {@code message} is shown to the caller where the protocol has room for it. A new message the caller owns.
     */
    Object errorReply(Object request, RpcStatus status, String message, ByteBufAllocator alloc);

    /** The protocol's status of a response (Bolt {@code respStatus}, Dubbo status byte). */
    int responseStatus(Object response);

    /** Whether the response reports success. */
    boolean isSuccess(Object response);

    /**
     * Whether the response says that the call never reached an application (the {@link RpcStatus#NOT_SENT} form):
     * such a call is safe to retry elsewhere.
     */
    boolean isNotDelivered(Object response);

    /**
     * The HTTP status a response counts as for outlier detection and {@code upstream_rq_<code>} stats: success 200,
     * "not found" 404, a malformed request 400, overload and "not sent" 503, timeouts 504, other errors 500.
     */
    int httpStatus(Object response);

    /** The size of a decoded message's frame in bytes, header included; 0 when unknown. For size metrics. */
    default int frameBytes(Object msg) {
        return msg instanceof io.jmesh.codec.internal.FrameMessage<?> f ? f.frameBytes() : 0;
    }
}
