package io.jmesh.proxy.filter.compressor;

import java.io.IOException;
import java.util.Locale;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.proxy.filter.FilterDataStatus;
import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.FilterTrailersStatus;
import io.jmesh.proxy.filter.HttpFilter;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.jmesh.proxy.filter.StreamEncoderFilterCallbacks;
import io.jmesh.proxy.filter.compression.StreamCompressor;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;

/**
 * The compressor of one stream, as Envoy's {@code CompressorFilter}. Responses are compressed when the request
 * accepts this filter's encoding (see {@link AcceptEncoding}), the response has a body of an allowed
 * {@code content-type} and at least {@code min_content_length} bytes (a response without {@code content-length}
 * streams and counts as long enough), no {@code content-encoding}, no {@code cache-control: no-transform}, no
 * {@code etag} when {@code disable_on_etag_header}, and a status not in {@code uncompressible_response_codes};
 * then {@code content-length} is removed, {@code content-encoding} set, a strong {@code etag} made weak, and
 * {@code vary: Accept-Encoding} added (also on a compressible response the client did not accept). Each body piece
 * is compressed and flushed as it passes; the last piece (or the trailers) ends the compressed stream.
 */
final class CompressorFilter implements HttpFilter {

    private static final Logger logger = LoggerFactory.getLogger(CompressorFilter.class);

    private final CompressorConfig config;
    private final CompressorFilterFactory.RouteConfig route;
    private StreamDecoderFilterCallbacks decoder;
    private StreamEncoderFilterCallbacks encoder;
    private AcceptEncoding.Registry registry;
    /** The request's accept-encoding (null: none); read before it may be removed. */
    private String acceptEncoding;
    private StreamCompressor requestCompressor;
    private StreamCompressor responseCompressor;

    CompressorFilter(CompressorConfig config, CompressorFilterFactory.RouteConfig route) {
        this.config = config;
        this.route = route;
    }

    @Override
    public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks callbacks) {
        this.decoder = callbacks;
    }

    @Override
    public void setEncoderFilterCallbacks(StreamEncoderFilterCallbacks callbacks) {
        this.encoder = callbacks;
    }

    private boolean responseEnabled() {
        return config.response.enabled && !route.disabled();
    }

    @Override
    public FilterHeadersStatus decodeHeaders(HttpRequest request, boolean endStream) {
        HttpHeaders h = request.headers();
        if (responseEnabled()) {
            acceptEncoding = h.contains(HttpHeaderNames.ACCEPT_ENCODING)
                    ? String.join(",", h.getAll(HttpHeaderNames.ACCEPT_ENCODING)) : null;
            registry = (AcceptEncoding.Registry) decoder.streamInfo().filterState()
                    .computeIfAbsent(AcceptEncoding.REGISTRY_KEY, k -> new AcceptEncoding.Registry());
            registry.register(config.library.encoding(), config.chooseFirst);
            boolean remove = route.removeAcceptEncodingHeader() != null ? route.removeAcceptEncodingHeader()
                    : config.removeAcceptEncodingHeader;
            if (remove) {
                h.remove(HttpHeaderNames.ACCEPT_ENCODING);
            }
        }
        CompressorConfig.Direction req = config.request;
        if (req != null && req.enabled) {
            if (!endStream && lengthAllowed(h, req, config.requestStats) && req.contentTypeAllowed(h.get(HttpHeaderNames.CONTENT_TYPE))
                    && !h.contains(HttpHeaderNames.CONTENT_ENCODING) && transferEncodingAllowed(h)) {
                h.remove(HttpHeaderNames.CONTENT_LENGTH);
                h.set(HttpHeaderNames.CONTENT_ENCODING, config.library.encoding());
                requestCompressor = config.library.newCompressor();
                config.requestStats.compressed.inc();
            } else {
                config.requestStats.notCompressed.inc();
            }
        }
        return FilterHeadersStatus.CONTINUE;
    }

    @Override
    public FilterDataStatus decodeData(ByteBuf data, boolean endStream) {
        if (requestCompressor == null) {
            return FilterDataStatus.CONTINUE;
        }
        ByteBuf out = compress(requestCompressor, config.requestStats, data, endStream);
        if (out == null) {
            requestCompressor = null;
            decoder.resetStream();
        } else {
            if (endStream) {
                requestCompressor = null;
            }
            decoder.injectDecodedDataToFilterChain(out, endStream);
        }
        return FilterDataStatus.STOP_ITERATION_NO_BUFFER;
    }

    @Override
    public FilterTrailersStatus decodeTrailers(HttpHeaders trailers) {
        if (requestCompressor != null) {
            ByteBuf out = compress(requestCompressor, config.requestStats, Unpooled.EMPTY_BUFFER, true);
            requestCompressor = null;
            if (out == null) {
                decoder.resetStream();
                return FilterTrailersStatus.STOP_ITERATION;
            }
            decoder.injectDecodedDataToFilterChain(out, false);
        }
        return FilterTrailersStatus.CONTINUE;
    }

    @Override
    public FilterHeadersStatus encodeHeaders(HttpResponse response, boolean endStream) {
        if (!responseEnabled()) {
            return FilterHeadersStatus.CONTINUE;
        }
        CompressorConfig.ResponseStats stats = config.responseStats;
        HttpHeaders h = response.headers();
        int code = response.status().code();
        boolean compressible = lengthAllowed(h, config.response, stats)
                && code != 101 && !h.contains(HttpHeaderNames.UPGRADE)
                && config.response.contentTypeAllowed(h.get(HttpHeaderNames.CONTENT_TYPE))
                && !noTransform(h)
                && etagAllowed(h, stats)
                && !h.contains(HttpHeaderNames.CONTENT_ENCODING);
        boolean accepted = compressible && acceptEncodingAllowed(stats);
        if (!endStream && accepted && transferEncodingAllowed(h) && !config.uncompressibleResponseCodes.contains(code)) {
            String etag = h.get(HttpHeaderNames.ETAG);
            if (etag != null && !etag.startsWith("W/")) {
                h.set(HttpHeaderNames.ETAG, "W/" + etag); // compressed bytes differ: only weakly equal
            }
            h.remove(HttpHeaderNames.CONTENT_LENGTH);
            h.set(HttpHeaderNames.CONTENT_ENCODING, config.library.encoding());
            insertVary(h);
            stats.compressed.inc();
            responseCompressor = config.library.newCompressor();
        } else {
            stats.notCompressed.inc();
            if (compressible && !accepted) {
                insertVary(h); // a cache in front must not serve this to a client that accepts the encoding
            }
        }
        return FilterHeadersStatus.CONTINUE;
    }

    @Override
    public FilterDataStatus encodeData(ByteBuf data, boolean endStream) {
        if (responseCompressor == null) {
            return FilterDataStatus.CONTINUE;
        }
        ByteBuf out = compress(responseCompressor, config.responseStats, data, endStream);
        if (out == null) {
            responseCompressor = null;
            encoder.resetStream();
        } else {
            if (endStream) {
                responseCompressor = null;
            }
            encoder.injectEncodedDataToFilterChain(out, endStream);
        }
        return FilterDataStatus.STOP_ITERATION_NO_BUFFER;
    }

    @Override
    public FilterTrailersStatus encodeTrailers(HttpHeaders trailers) {
        if (responseCompressor != null) {
            ByteBuf out = compress(responseCompressor, config.responseStats, Unpooled.EMPTY_BUFFER, true);
            responseCompressor = null;
            if (out == null) {
                encoder.resetStream();
                return FilterTrailersStatus.STOP_ITERATION;
            }
            encoder.injectEncodedDataToFilterChain(out, false);
        }
        return FilterTrailersStatus.CONTINUE;
    }

    @Override
    public void onDestroy() {
        if (requestCompressor != null) {
            requestCompressor.close();
            requestCompressor = null;
        }
        if (responseCompressor != null) {
            responseCompressor.close();
            responseCompressor = null;
        }
    }

    /** Compresses {@code data} (released); null when the library failed (logged; the caller resets the stream). */
    private ByteBuf compress(StreamCompressor c, CompressorConfig.DirectionStats stats, ByteBuf data, boolean end) {
        int in = data.readableBytes();
        try {
            ByteBuf out = c.compress(data, end);
            stats.totalUncompressedBytes.add(in);
            stats.totalCompressedBytes.add(out.readableBytes());
            return out;
        } catch (IOException | RuntimeException e) {
            logger.warn("{} {} compression failed: {}", decoder.connection(), config.library, e.toString());
            return null;
        }
    }

    private boolean acceptEncodingAllowed(CompressorConfig.ResponseStats stats) {
        if (acceptEncoding == null) {
            stats.noAcceptHeader.inc();
            return false;
        }
        AcceptEncoding.Decision d = AcceptEncoding.choose(acceptEncoding,
                registry != null ? registry.ordered() : java.util.List.of(config.library.encoding()));
        boolean ours = d.encoding().equals(config.library.encoding());
        switch (d.kind()) {
            case VALID_COMPRESSOR:
                (ours ? stats.headerCompressorUsed : stats.headerCompressorOvershadowed).inc();
                return ours;
            case WILDCARD:
                if (ours) {
                    stats.headerWildcard.inc();
                } else {
                    stats.headerCompressorOvershadowed.inc();
                }
                return ours;
            case IDENTITY:
                stats.headerIdentity.inc();
                return false;
            default:
                stats.headerNotValid.inc();
                return false;
        }
    }

    /** At least {@code min_content_length} by {@code content-length}; no length (a streamed body) counts as enough. */
    private static boolean lengthAllowed(HttpHeaders h, CompressorConfig.Direction d, CompressorConfig.DirectionStats stats) {
        String cl = h.get(HttpHeaderNames.CONTENT_LENGTH);
        if (cl == null) {
            return true;
        }
        long n;
        try {
            n = Long.parseLong(cl.trim());
        } catch (NumberFormatException e) {
            return false;
        }
        if (n < d.minContentLength) {
            stats.contentLengthTooSmall.inc();
            return false;
        }
        return true;
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

    private boolean etagAllowed(HttpHeaders h, CompressorConfig.ResponseStats stats) {
        if (config.disableOnEtagHeader && h.contains(HttpHeaderNames.ETAG)) {
            stats.notCompressedEtag.inc();
            return false;
        }
        return true;
    }

    /** No {@code transfer-encoding} naming a compression (gzip, deflate, br, zstd, compress). */
    private static boolean transferEncodingAllowed(HttpHeaders h) {
        for (String v : h.getAll(HttpHeaderNames.TRANSFER_ENCODING)) {
            for (String t : v.split(",")) {
                switch (t.trim().toLowerCase(Locale.ROOT)) {
                    case "gzip", "x-gzip", "deflate", "br", "zstd", "compress", "x-compress":
                        return false;
                    default:
                        break;
                }
            }
        }
        return true;
    }

    private static void insertVary(HttpHeaders h) {
        for (String v : h.getAll(HttpHeaderNames.VARY)) {
            for (String t : v.split(",")) {
                String token = t.trim();
                if (token.equalsIgnoreCase("accept-encoding") || token.equals("*")) {
                    return;
                }
            }
        }
        String existing = h.get(HttpHeaderNames.VARY);
        if (existing == null || existing.isBlank()) {
            h.set(HttpHeaderNames.VARY, "Accept-Encoding");
        } else {
            h.set(HttpHeaderNames.VARY, String.join(", ", h.getAll(HttpHeaderNames.VARY)) + ", Accept-Encoding");
        }
    }
}
