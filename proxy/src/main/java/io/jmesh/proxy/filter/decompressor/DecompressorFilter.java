package io.jmesh.proxy.filter.decompressor;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.proxy.filter.FilterDataStatus;
import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.FilterTrailersStatus;
import io.jmesh.proxy.filter.HttpFilter;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.jmesh.proxy.filter.StreamEncoderFilterCallbacks;
import io.jmesh.proxy.filter.compression.DecompressorLibrary;
import io.jmesh.proxy.filter.compression.StreamDecompressor;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;

/**
 * The decompressor of one stream, as Envoy's {@code DecompressorFilter}: a body whose first
 * {@code content-encoding} token is the library's ({@code gzip}, {@code br}, {@code zstd}) and that has no
 * {@code cache-control: no-transform} (unless {@code ignore_no_transform_header}) is decompressed as it streams;
 * that token is removed from {@code content-encoding} (the header goes when nothing is left) and so is
 * {@code content-length}. With {@code advertise_accept_encoding} (the default) and response decompression on,
 * the library's encoding is appended to the request's {@code accept-encoding}. A corrupt body, or one inflating
 * past {@code max_inflate_ratio}, resets the stream.
 */
final class DecompressorFilter implements HttpFilter {

    private static final Logger logger = LoggerFactory.getLogger(DecompressorFilter.class);

    private final DecompressorLibrary library;
    private final DecompressorFilterFactory.Direction request;
    private final DecompressorFilterFactory.Direction response;
    private final boolean advertise;
    private StreamDecoderFilterCallbacks decoder;
    private StreamEncoderFilterCallbacks encoder;
    private StreamDecompressor requestDecompressor;
    private StreamDecompressor responseDecompressor;

    DecompressorFilter(DecompressorLibrary library, DecompressorFilterFactory.Direction request,
                       DecompressorFilterFactory.Direction response, boolean advertise) {
        this.library = library;
        this.request = request;
        this.response = response;
        this.advertise = advertise;
    }

    @Override
    public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks callbacks) {
        this.decoder = callbacks;
    }

    @Override
    public void setEncoderFilterCallbacks(StreamEncoderFilterCallbacks callbacks) {
        this.encoder = callbacks;
    }

    @Override
    public FilterHeadersStatus decodeHeaders(HttpRequest headers, boolean endStream) {
        HttpHeaders h = headers.headers();
        if (response.enabled && advertise) {
            String ae = h.contains(HttpHeaderNames.ACCEPT_ENCODING)
                    ? String.join(",", h.getAll(HttpHeaderNames.ACCEPT_ENCODING)) : null;
            h.set(HttpHeaderNames.ACCEPT_ENCODING, ae == null || ae.isBlank() ? library.encoding()
                    : ae + "," + library.encoding());
        }
        if (request.enabled && !endStream && start(h, request)) {
            requestDecompressor = library.newDecompressor();
        }
        return FilterHeadersStatus.CONTINUE;
    }

    @Override
    public FilterDataStatus decodeData(ByteBuf data, boolean endStream) {
        if (requestDecompressor == null) {
            return FilterDataStatus.CONTINUE;
        }
        ByteBuf out = decompress(requestDecompressor, request, data);
        if (out == null) {
            requestDecompressor.close();
            requestDecompressor = null;
            decoder.resetStream();
        } else {
            decoder.injectDecodedDataToFilterChain(out, endStream);
        }
        return FilterDataStatus.STOP_ITERATION_NO_BUFFER;
    }

    @Override
    public FilterTrailersStatus decodeTrailers(HttpHeaders trailers) {
        return FilterTrailersStatus.CONTINUE;
    }

    @Override
    public FilterHeadersStatus encodeHeaders(HttpResponse headers, boolean endStream) {
        if (response.enabled && !endStream && start(headers.headers(), response)) {
            responseDecompressor = library.newDecompressor();
        }
        return FilterHeadersStatus.CONTINUE;
    }

    @Override
    public FilterDataStatus encodeData(ByteBuf data, boolean endStream) {
        if (responseDecompressor == null) {
            return FilterDataStatus.CONTINUE;
        }
        ByteBuf out = decompress(responseDecompressor, response, data);
        if (out == null) {
            responseDecompressor.close();
            responseDecompressor = null;
            encoder.resetStream();
        } else {
            encoder.injectEncodedDataToFilterChain(out, endStream);
        }
        return FilterDataStatus.STOP_ITERATION_NO_BUFFER;
    }

    @Override
    public void onDestroy() {
        if (requestDecompressor != null) {
            requestDecompressor.close();
            requestDecompressor = null;
        }
        if (responseDecompressor != null) {
            responseDecompressor.close();
            responseDecompressor = null;
        }
    }

    /** Whether this body is decompressed; if so, fixes its headers and counts it. */
    private boolean start(HttpHeaders h, DecompressorFilterFactory.Direction d) {
        String ce = h.get(HttpHeaderNames.CONTENT_ENCODING);
        boolean matches = false;
        String rest = null;
        if (ce != null) {
            int comma = ce.indexOf(',');
            String first = (comma >= 0 ? ce.substring(0, comma) : ce).trim();
            matches = first.equalsIgnoreCase(library.encoding());
            rest = comma >= 0 ? ce.substring(comma + 1).trim() : "";
        }
        if (!matches || (!d.ignoreNoTransform && noTransform(h))) {
            d.notDecompressed.inc();
            return false;
        }
        if (rest.isEmpty()) {
            h.remove(HttpHeaderNames.CONTENT_ENCODING);
        } else {
            h.set(HttpHeaderNames.CONTENT_ENCODING, rest);
        }
        h.remove(HttpHeaderNames.CONTENT_LENGTH);
        d.decompressed.inc();
        return true;
    }

    private ByteBuf decompress(StreamDecompressor dec, DecompressorFilterFactory.Direction d, ByteBuf data) {
        int in = data.readableBytes();
        try {
            ByteBuf out = dec.decompress(data);
            d.totalCompressedBytes.add(in);
            d.totalUncompressedBytes.add(out.readableBytes());
            return out;
        } catch (RuntimeException e) {
            logger.debug("{} {} decompression failed: {}", decoder.connection(), library, e.toString());
            return null;
        }
    }

    private static boolean noTransform(HttpHeaders h) {
        for (String v : h.getAll(HttpHeaderNames.CACHE_CONTROL)) {
            for (String t : v.split(",")) {
                if (t.trim().equalsIgnoreCase("no-transform")) {
                    return true;
                }
            }
        }
        return false;
    }
}
