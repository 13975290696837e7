package io.jmesh.proxy.filter;

import java.net.InetSocketAddress;
import java.util.function.Consumer;

import io.jmesh.proxy.stream.ResponseFlag;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpHeaders;

/** What a filter may do to its stream. Every method must be called on {@link #eventLoop()}. */
public interface HttpFilterCallbacks {

    /** Ends the stream with a locally generated response (Envoy's {@code sendLocalReply}). */
    default void sendLocalReply(int status, String body, String details) {
        sendLocalReply(status, body, details, null);
    }

    /**
     * As {@link #sendLocalReply(int, String, String)}, letting {@code modifyHeaders} (if not null) change the
     * response headers before the filters see them.
     */
    void sendLocalReply(int status, String body, String details, Consumer<HttpHeaders> modifyHeaders);

    /** Resumes a chain paused with {@link HttpFilter.Status#STOP_ITERATION}; a no-op once the stream ended. */
    void continueDecoding();

    /** Adds a response flag to the stream's access log entry (e.g. FI, DI). */
    void addResponseFlag(ResponseFlag flag);

    /**
     * The route's parsed {@code typed_per_filter_config} for {@code filterName} (see
     * {@code io.jmesh.proxy.router.RouteEntry#perFilterConfig}), or null when there is none or no route.
     */
    Object perFilterConfig(String filterName);

    /** The event loop of the stream, for timers. */
    EventLoop eventLoop();

    InetSocketAddress downstreamRemoteAddress();
}
