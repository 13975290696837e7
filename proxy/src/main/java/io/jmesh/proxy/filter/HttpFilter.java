package io.jmesh.proxy.filter;

import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;

/**
 * An HTTP filter instance for one stream (Envoy's {@code StreamFilter}). Filters run on the stream's
 * event loop, in configuration order for requests and in reverse for responses. The router is not a
 * filter instance: it is the terminal step of the chain, performed by the connection manager.
 */
public interface HttpFilter {

    /** What the chain does after a filter has seen a message. */
    enum Status {
        /** Go on to the next filter. */
        CONTINUE,
        /** The filter has sent a local reply (through {@link HttpFilterCallbacks}); stop. */
        STOP
    }

    default Status onRequestHeaders(HttpRequest request, HttpFilterCallbacks callbacks) {
        return Status.CONTINUE;
    }

    default void onResponseHeaders(HttpResponse response, HttpFilterCallbacks callbacks) {}
}
