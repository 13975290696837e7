package io.jmesh.proxy.filter;

/**
 * Downstream events a decoder filter that streams (the router) registers for: back-pressure towards the
 * upstream and the end of a downstream read batch (when to flush upstream writes).
 */
public interface DownstreamWatermarkCallbacks {

    /** The downstream cannot take more now: stop reading the upstream response. */
    void onAboveWriteBufferHighWatermark();

    /** The downstream drained: read the upstream response again. */
    void onBelowWriteBufferLowWatermark();

    /** A batch of downstream reads ended: flush what was written upstream. */
    default void onDownstreamReadComplete() {}
}
