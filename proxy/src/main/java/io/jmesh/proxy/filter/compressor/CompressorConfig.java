package io.jmesh.proxy.filter.compressor;

import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

import io.envoyproxy.envoy.config.core.v3.RuntimeFeatureFlag;
import io.envoyproxy.envoy.extensions.filters.http.compressor.v3.Compressor;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.compression.CompressorLibrary;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.Stats;

/** The parsed {@link Compressor} of one filter in one chain, with its stats. Immutable, thread-safe. */
final class CompressorConfig {

    /** Envoy's default {@code content_type} list. */
    static final List<String> DEFAULT_CONTENT_TYPES = List.of("application/javascript", "application/json",
            "application/xhtml+xml", "image/svg+xml", "text/css", "text/html", "text/plain", "text/xml");

    /** Envoy's default {@code min_content_length}. */
    static final int DEFAULT_MIN_CONTENT_LENGTH = 30;

    final CompressorLibrary library;
    final boolean chooseFirst;
    final Direction response;
    /** Null when request bodies are not compressed ({@code request_direction_config} unset). */
    final Direction request;
    final boolean disableOnEtagHeader;
    final boolean removeAcceptEncodingHeader;
    final Set<Integer> uncompressibleResponseCodes;
    final ResponseStats responseStats;

    CompressorConfig(Compressor c, String statPrefix, Stats stats) throws ConfigException {
        if (!c.hasCompressorLibrary()) {
            throw new ConfigException("compressor_library: unset (expected: a TypedExtensionConfig of a gzip, brotli or"
                    + " zstd compressor)");
        }
        if (c.getCompressorLibrary().getName().isEmpty()) {
            throw new ConfigException("compressor_library.name: \"\" (expected: a non-empty name)");
        }
        library = CompressorLibrary.parse(c.getCompressorLibrary(), "compressor_library");
        chooseFirst = c.getChooseFirst();
        String base = "http." + statPrefix + ".compressor." + library.name() + "." + library.statPrefix() + ".";
        if (c.hasResponseDirectionConfig()) {
            Compressor.ResponseDirectionConfig r = c.getResponseDirectionConfig();
            response = new Direction(r.getCommonConfig(), "response_direction_config.common_config");
            disableOnEtagHeader = r.getDisableOnEtagHeader();
            removeAcceptEncodingHeader = r.getRemoveAcceptEncodingHeader();
            for (int i = 0; i < r.getUncompressibleResponseCodesCount(); i++) {
                int code = r.getUncompressibleResponseCodes(i);
                if (code < 200 || code >= 600) {
                    throw new ConfigException("response_direction_config.uncompressible_response_codes[" + i + "]: "
                            + Integer.toUnsignedString(code) + " (expected: 200..599)");
                }
            }
            uncompressibleResponseCodes = Set.copyOf(r.getUncompressibleResponseCodesList());
            if (uncompressibleResponseCodes.size() != r.getUncompressibleResponseCodesCount()) {
                throw new ConfigException("response_direction_config.uncompressible_response_codes: "
                        + r.getUncompressibleResponseCodesList() + " (expected: unique codes)");
            }
            responseStats = new ResponseStats(stats, base + "response.");
        } else {
            // The deprecated v2-era fields, as Envoy still reads them when response_direction_config is unset.
            response = new Direction(c.hasRuntimeEnabled() ? flag(c.getRuntimeEnabled(), "runtime_enabled") : true,
                    c.hasContentLength() ? c.getContentLength().getValue() : DEFAULT_MIN_CONTENT_LENGTH,
                    contentTypes(c.getContentTypeList()));
            disableOnEtagHeader = c.getDisableOnEtagHeader();
            removeAcceptEncodingHeader = c.getRemoveAcceptEncodingHeader();
            uncompressibleResponseCodes = Set.of();
            responseStats = new ResponseStats(stats, base);
        }
        request = c.hasRequestDirectionConfig()
                ? new Direction(c.getRequestDirectionConfig().getCommonConfig(), "request_direction_config.common_config")
                : null;
        requestStats = request == null ? null : new DirectionStats(stats, base + "request.");
    }

    final DirectionStats requestStats;

    private static boolean flag(RuntimeFeatureFlag f, String path) throws ConfigException {
        if (!f.hasDefaultValue()) {
            throw new ConfigException(path + ".default_value: unset (expected: true or false)");
        }
        return f.getDefaultValue().getValue();
    }

    private static Set<String> contentTypes(List<String> configured) {
        return (configured.isEmpty() ? DEFAULT_CONTENT_TYPES : configured).stream()
                .map(t -> t.trim().toLowerCase(Locale.ROOT)).collect(Collectors.toUnmodifiableSet());
    }

    /** What one direction compresses: on or off, the minimum length, the content types. */
    static final class Direction {
        final boolean enabled;
        final long minContentLength;
        final Set<String> contentTypes;

        Direction(Compressor.CommonDirectionConfig c, String path) throws ConfigException {
            this(c.hasEnabled() ? flag(c.getEnabled(), path + ".enabled") : true,
                    c.hasMinContentLength() ? Integer.toUnsignedLong(c.getMinContentLength().getValue())
                            : DEFAULT_MIN_CONTENT_LENGTH,
                    contentTypes(c.getContentTypeList()));
        }

        Direction(boolean enabled, long minContentLength, Set<String> contentTypes) {
            this.enabled = enabled;
            this.minContentLength = minContentLength;
            this.contentTypes = contentTypes;
        }

        /** Whether {@code contentType} (parameters ignored) is one this direction compresses; absent counts as not. */
        boolean contentTypeAllowed(String contentType) {
            if (contentType == null) {
                return false;
            }
            int semi = contentType.indexOf(';');
            String t = (semi >= 0 ? contentType.substring(0, semi) : contentType).trim().toLowerCase(Locale.ROOT);
            return contentTypes.contains(t);
        }
    }

    /** {@code compressed}, {@code not_compressed}, byte totals and {@code content_length_too_small}. */
    static class DirectionStats {
        final Counter compressed;
        final Counter notCompressed;
        final Counter totalUncompressedBytes;
        final Counter totalCompressedBytes;
        final Counter contentLengthTooSmall;

        DirectionStats(Stats stats, String prefix) {
            compressed = stats.counter(prefix + "compressed");
            notCompressed = stats.counter(prefix + "not_compressed");
            totalUncompressedBytes = stats.counter(prefix + "total_uncompressed_bytes");
            totalCompressedBytes = stats.counter(prefix + "total_compressed_bytes");
            contentLengthTooSmall = stats.counter(prefix + "content_length_too_small");
        }
    }

    /** The response-only stats: how {@code accept-encoding} decided, and the etag refusals. */
    static final class ResponseStats extends DirectionStats {
        final Counter noAcceptHeader;
        final Counter headerIdentity;
        final Counter headerCompressorUsed;
        final Counter headerCompressorOvershadowed;
        final Counter headerWildcard;
        final Counter headerNotValid;
        final Counter notCompressedEtag;

        ResponseStats(Stats stats, String prefix) {
            super(stats, prefix);
            noAcceptHeader = stats.counter(prefix + "no_accept_header");
            headerIdentity = stats.counter(prefix + "header_identity");
            headerCompressorUsed = stats.counter(prefix + "header_compressor_used");
            headerCompressorOvershadowed = stats.counter(prefix + "header_compressor_overshadowed");
            headerWildcard = stats.counter(prefix + "header_wildcard");
            headerNotValid = stats.counter(prefix + "header_not_valid");
            notCompressedEtag = stats.counter(prefix + "not_compressed_etag");
        }
    }
}
