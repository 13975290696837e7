package io.jmesh.proxy.filter;

import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;

/**
 * An HTTP filter instance for one stream (Envoy's {@code StreamFilter}). Filters run on the stream's
 * event loop, in configuration order for requests and in reverse for responses (local replies included).
 * The router is not a filter instance: it is the terminal step of the chain, performed by the connection
 * manager. The route is resolved before the first filter runs, so that filters can read their
 * route-specific config ({@link HttpFilterCallbacks#perFilterConfig(String)}).
 */
public interface HttpFilter {

    /** What the chain does after a filter has seen the request headers. */
    enum Status {
        /** Go on to the next filter. */
        CONTINUE,
        /** The filter has sent a local reply (through {@link HttpFilterCallbacks}); stop. */
        STOP,
        /**
         * Pause the chain: the filter later calls {@link HttpFilterCallbacks#continueDecoding()} (on the
         * stream's event loop) or sends a local reply. Request body arriving meanwhile is buffered.
         */
        STOP_ITERATION
    }

    default Status onRequestHeaders(HttpRequest request, HttpFilterCallbacks callbacks) {
        return Status.CONTINUE;
    }

    default void onResponseHeaders(HttpResponse response, HttpFilterCallbacks callbacks) {}

    /** The stream has ended (completed or reset); release timers and other resources. Called once. */
    default void onDestroy() {}
}
