package io.jmesh.proxy.upstream.pool;

/** A pool of connections to one upstream host, confined to one event loop. */
public interface ConnectionPool {

    /**
     * Opens a stream for one request. The listener hears {@link UpstreamStreamListener#onStreamReady} or
     * {@link UpstreamStreamListener#onStreamFailure}, later or before this method returns.
     */
    void newStream(UpstreamStreamListener listener);

    /** Closes idle connections (config change, drain). Active streams finish. */
    void drain();

    /** Connections open now (for tests and /clusters). */
    int connectionCount();
}
