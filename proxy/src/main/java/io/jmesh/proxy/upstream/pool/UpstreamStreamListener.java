package io.jmesh.proxy.upstream.pool;

import io.netty.handler.codec.http.HttpObject;

/** Receives what happens on one upstream stream. Called on the stream's event loop. */
public interface UpstreamStreamListener {

    /** The stream is ready to take the request. */
    void onStreamReady(UpstreamStream stream);

    /** The stream could not be opened or ended before a complete response. */
    void onStreamFailure(ResetReason reason, String detail);

    /** A response object: an {@code HttpResponse}, {@code HttpContent}s, then a {@code LastHttpContent}. The listener owns it. */
    void onResponse(HttpObject msg);

    /** The end of one read batch: a good moment to flush downstream. */
    void onReadComplete();

    /** The upstream channel's writability changed (request-body back-pressure). */
    void onWritabilityChanged(boolean writable);
}
