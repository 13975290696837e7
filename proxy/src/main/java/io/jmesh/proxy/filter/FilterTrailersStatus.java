package io.jmesh.proxy.filter;

/** What a filter's {@code decodeTrailers}/{@code encodeTrailers} tells the filter manager. */
public enum FilterTrailersStatus {
    /** Pass the trailers (and any data buffered before them) on. */
    CONTINUE,
    /** Stop until this filter calls continue; the trailers are held. */
    STOP_ITERATION
}
