package io.jmesh.proxy.filter;

import java.util.function.Consumer;

import io.jmesh.proxy.router.RouteEntry;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.stream.ResponseFlag;
import io.jmesh.proxy.stream.StreamInfo;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;

/**
 * What a filter may ask of its stream, in either direction (Envoy's {@code StreamFilterCallbacks}). Every
 * method must be called on {@link #eventLoop()}; after the stream ended they are no-ops.
 */
public interface StreamFilterCallbacks {

    /** The event loop of the stream, for timers and for handing work back from other threads. */
    EventLoop eventLoop();

    /** The downstream connection: addresses, SNI, TLS version and cipher, peer certificate and SPIFFE ID. */
    ConnectionInfo connection();

    /**
     * The stream's {@link StreamInfo}, shared by all filters, stats and the access log: what an earlier filter
     * recorded there (dynamic metadata, filter state, response flags) a later one and the access log read.
     */
    StreamInfo streamInfo();

    /** The request headers as they are now (later filters and the router may still change them); null before. */
    HttpRequest requestHeaders();

    /**
     * The route of the request: chosen when first asked for after the request headers, then cached until
     * {@link #clearRouteCache()}. Null when no route matches.
     */
    RouteEntry route();

    /**
     * Forgets the cached route, so that the next {@link #route()} (the router's, at the latest) matches the
     * request headers again: a filter that changed headers routing depends on calls this (Envoy's
     * {@code clearRouteCache}). The filters of the stream stay the ones created for the first route.
     */
    void clearRouteCache();

    /** The route's parsed {@code typed_per_filter_config} for {@code filterName}, or null (none or no route). */
    default Object perFilterConfig(String filterName) {
        RouteEntry r = route();
        return r == null ? null : r.perFilterConfig(filterName);
    }

    /** Adds a response flag to the stream (e.g. FI, DI); shortcut for {@code streamInfo().addResponseFlag}. */
    default void addResponseFlag(ResponseFlag flag) {
        streamInfo().addResponseFlag(flag);
    }

    /** As {@link #sendLocalReply(int, String, String, Consumer, int)} with no header changes and no gRPC status. */
    default void sendLocalReply(int status, String body, String details) {
        sendLocalReply(status, body, details, null, -1);
    }

    /**
     * Ends the stream with a locally generated response (Envoy's {@code sendLocalReply}), built in one place for
     * every caller: a gRPC request ({@code content-type: application/grpc*}) gets a trailers-only gRPC response
     * ({@code :status 200}, {@code grpc-status} from {@code grpcStatus} or mapped from {@code status} as Envoy
     * does, {@code grpc-message} from the body); the HCM's {@code local_reply_config} mappers apply. The reply
     * passes through the encoder filters. If the response has already started downstream, the stream is reset
     * instead. The caller's filter method should then return a stop status.
     *
     * @param details       Envoy's response code details ({@code %RESPONSE_CODE_DETAILS%})
     * @param modifyHeaders changes the response headers before the encoder filters see them; may be null
     * @param grpcStatus    the gRPC status for a gRPC request, or -1 to map it from {@code status}
     */
    void sendLocalReply(int status, String body, String details, Consumer<HttpHeaders> modifyHeaders, int grpcStatus);

    /** Abandons the stream: resets the downstream stream (HTTP/2) or closes the connection (HTTP/1.1). */
    void resetStream();
}
