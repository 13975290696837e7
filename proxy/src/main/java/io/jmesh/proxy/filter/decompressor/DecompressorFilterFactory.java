package io.jmesh.proxy.filter.decompressor;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;

import io.envoyproxy.envoy.config.core.v3.RuntimeFeatureFlag;
import io.envoyproxy.envoy.extensions.filters.http.decompressor.v3.Decompressor;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.HttpFilterFactory;
import io.jmesh.proxy.filter.compression.DecompressorLibrary;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.Stats;

/**
 * {@code envoy.filters.http.decompressor} ({@link Decompressor}). Stats, as Envoy's:
 * {@code http.<stat_prefix>.decompressor.<decompressor_library.name>.<gzip|brotli|zstd>.<request|response>.}
 * {@code decompressed}, {@code not_decompressed}, {@code total_compressed_bytes}, {@code total_uncompressed_bytes}.
 */
public final class DecompressorFilterFactory implements HttpFilterFactory {

    /** Envoy's canonical name. */
    public static final String NAME = "envoy.filters.http.decompressor";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Descriptor configType() {
        return Decompressor.getDescriptor();
    }

    @Override
    public PerStream create(Any typedConfig, Context context) throws ConfigException {
        Decompressor d = HttpFilterFactory.unpack(typedConfig, Decompressor.class, Decompressor.getDescriptor());
        if (!d.hasDecompressorLibrary()) {
            throw new ConfigException("decompressor_library: unset (expected: a TypedExtensionConfig of a gzip, brotli"
                    + " or zstd decompressor)");
        }
        if (d.getDecompressorLibrary().getName().isEmpty()) {
            throw new ConfigException("decompressor_library.name: \"\" (expected: a non-empty name)");
        }
        DecompressorLibrary library = DecompressorLibrary.parse(d.getDecompressorLibrary(), "decompressor_library");
        String base = "http." + context.statPrefix() + ".decompressor." + library.name() + "." + library.statPrefix() + ".";
        Direction request = new Direction(d.getRequestDirectionConfig().getCommonConfig(),
                "request_direction_config.common_config", context.stats(), base + "request.");
        Direction response = new Direction(d.getResponseDirectionConfig().getCommonConfig(),
                "response_direction_config.common_config", context.stats(), base + "response.");
        boolean advertise = !d.getRequestDirectionConfig().hasAdvertiseAcceptEncoding()
                || d.getRequestDirectionConfig().getAdvertiseAcceptEncoding().getValue();
        if (!request.enabled && !response.enabled) {
            return route -> null;
        }
        return route -> new DecompressorFilter(library, request, response, advertise);
    }

    /** One direction's switch, {@code ignore_no_transform_header} and stats. */
    static final class Direction {
        final boolean enabled;
        final boolean ignoreNoTransform;
        final Counter decompressed;
        final Counter notDecompressed;
        final Counter totalCompressedBytes;
        final Counter totalUncompressedBytes;

        Direction(Decompressor.CommonDirectionConfig c, String path, Stats stats, String prefix) throws ConfigException {
            enabled = !c.hasEnabled() || flag(c.getEnabled(), path + ".enabled");
            ignoreNoTransform = c.getIgnoreNoTransformHeader();
            decompressed = stats.counter(prefix + "decompressed");
            notDecompressed = stats.counter(prefix + "not_decompressed");
            totalCompressedBytes = stats.counter(prefix + "total_compressed_bytes");
            totalUncompressedBytes = stats.counter(prefix + "total_uncompressed_bytes");
        }

        private static boolean flag(RuntimeFeatureFlag f, String path) throws ConfigException {
            if (!f.hasDefaultValue()) {
                throw new ConfigException(path + ".default_value: unset (expected: true or false)");
            }
            return f.getDefaultValue().getValue();
        }
    }
}
