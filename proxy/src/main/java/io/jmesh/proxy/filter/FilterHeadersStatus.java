package io.jmesh.proxy.filter;

/**
 * What a filter's {@code decodeHeaders}/{@code encodeHeaders} tells the filter manager (Envoy's
 * {@code FilterHeadersStatus}, see {@code envoy/http/filter.h}).
 */
public enum FilterHeadersStatus {
    /** Pass the headers on to the next filter. */
    CONTINUE,
    /**
     * Stop here: later filters do not see the headers until this filter calls {@code continueDecoding()} /
     * {@code continueEncoding()}. This filter still sees the data and trailers that follow; if its
     * {@code decodeData} returns {@link FilterDataStatus#CONTINUE}, the headers and data go on (Envoy's
     * {@code StopIteration}).
     */
    STOP_ITERATION,
    /**
     * Stop here and hold everything that follows (data and trailers) without showing it to this filter, until
     * it calls continue. Held data past the buffer limit fails the stream: 413 on requests, 500 on responses
     * (Envoy's {@code StopAllIterationAndBuffer}).
     */
    STOP_ALL_ITERATION_AND_BUFFER,
    /**
     * As {@link #STOP_ALL_ITERATION_AND_BUFFER}, but past the buffer limit the sender is paused (the downstream
     * stops being read, or the upstream response stops being read) instead of failing (Envoy's
     * {@code StopAllIterationAndWatermark}).
     */
    STOP_ALL_ITERATION_AND_WATERMARK
}
