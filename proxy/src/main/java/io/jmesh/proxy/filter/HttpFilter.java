package io.jmesh.proxy.filter;

/**
 * A filter of both paths (Envoy's {@code StreamFilter}): one instance per stream sees the request on the way
 * in and the response on the way out. A factory may instead return a decoder-only or encoder-only filter; the
 * filter manager then skips it in the other direction.
 */
public interface HttpFilter extends StreamDecoderFilter, StreamEncoderFilter {
}
