package io.jmesh.proxy.filter;

/** What a filter's {@code decodeData}/{@code encodeData} tells the filter manager (Envoy's {@code FilterDataStatus}). */
public enum FilterDataStatus {
    /**
     * Pass the data on (after whatever this filter buffered before, as one piece). If the headers were stopped at
     * this filter, they go on first.
     */
    CONTINUE,
    /**
     * Keep the data in the filter manager's buffer ({@code decodingBuffer()} / {@code encodingBuffer()}) and stop:
     * this filter sees the next pieces as they come and continues by returning {@link #CONTINUE} or calling
     * continue. Past the buffer limit the stream fails with 413 (requests) or 500 (responses), as in Envoy.
     */
    STOP_ITERATION_AND_BUFFER,
    /**
     * As {@link #STOP_ITERATION_AND_BUFFER}, but past the buffer limit the sender is paused instead of failing
     * (Envoy's {@code StopIterationAndWatermark}).
     */
    STOP_ITERATION_AND_WATERMARK,
    /**
     * The filter took the data: it now owns (and must release or forward) the buffer, and nothing goes on
     * (Envoy's {@code StopIterationNoBuffer}; the router answers this).
     */
    STOP_ITERATION_NO_BUFFER
}
