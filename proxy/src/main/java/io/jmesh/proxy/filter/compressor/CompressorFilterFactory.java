package io.jmesh.proxy.filter.compressor;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;

import io.envoyproxy.envoy.extensions.filters.http.compressor.v3.Compressor;
import io.envoyproxy.envoy.extensions.filters.http.compressor.v3.CompressorPerRoute;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.HttpFilterFactory;

/**
 * {@code envoy.filters.http.compressor} ({@link Compressor}; per route {@link CompressorPerRoute}). Stats, as
 * Envoy's: {@code http.<stat_prefix>.compressor.<compressor_library.name>.<gzip|brotli|zstd>.response.*} (without
 * {@code response.} when only the deprecated top-level fields configure responses) and {@code ...request.*}.
 */
public final class CompressorFilterFactory implements HttpFilterFactory {

    /** Envoy's canonical name, also the key of its {@code typed_per_filter_config}. */
    public static final String NAME = "envoy.filters.http.compressor";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Descriptor configType() {
        return Compressor.getDescriptor();
    }

    @Override
    public PerStream create(Any typedConfig, Context context) throws ConfigException {
        Compressor c = HttpFilterFactory.unpack(typedConfig, Compressor.class, Compressor.getDescriptor());
        CompressorConfig config = new CompressorConfig(c, context.statPrefix(), context.stats());
        return route -> {
            Object perRoute = route == null ? null : route.perFilterConfig(NAME);
            RouteConfig rc = perRoute instanceof RouteConfig r ? r : RouteConfig.NONE;
            if (rc.disabled && config.request == null) {
                return null;
            }
            return new CompressorFilter(config, rc);
        };
    }

    @Override
    public Object createRouteConfig(Any typedConfig) throws ConfigException {
        CompressorPerRoute p = HttpFilterFactory.unpack(typedConfig, CompressorPerRoute.class,
                CompressorPerRoute.getDescriptor());
        switch (p.getOverrideCase()) {
            case DISABLED:
                if (!p.getDisabled()) {
                    throw new ConfigException("disabled: false (expected: true, or overrides)");
                }
                return new RouteConfig(true, null);
            case OVERRIDES:
                var r = p.getOverrides().getResponseDirectionConfig();
                return new RouteConfig(false, r.hasRemoveAcceptEncodingHeader()
                        ? r.getRemoveAcceptEncodingHeader().getValue() : null);
            default:
                throw new ConfigException("override: unset (expected: disabled or overrides)");
        }
    }

    /**
     * A route's {@code CompressorPerRoute}: {@code disabled} turns response compression off on the route;
     * {@code overrides.response_direction_config.remove_accept_encoding_header} replaces the filter's.
     */
    record RouteConfig(boolean disabled, Boolean removeAcceptEncodingHeader) {
        static final RouteConfig NONE = new RouteConfig(false, null);
    }
}
