package io.jmesh.proxy.filter.buffer;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;

import io.envoyproxy.envoy.extensions.filters.http.buffer.v3.Buffer;
import io.envoyproxy.envoy.extensions.filters.http.buffer.v3.BufferPerRoute;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.HttpFilterFactory;

/**
 * {@code envoy.filters.http.buffer} ({@link Buffer}: {@code max_request_bytes}, required, above 0; per route
 * {@link BufferPerRoute}: {@code disabled: true} or another {@code buffer}). A request longer than the limit is
 * answered {@code 413 Payload Too Large} (details {@code request_payload_too_large}) and counted in the
 * connection manager's {@code downstream_rq_too_large}, as Envoy does.
 */
public final class BufferFilterFactory implements HttpFilterFactory {

    /** Envoy's canonical name, also the key of its {@code typed_per_filter_config}. */
    public static final String NAME = "envoy.filters.http.buffer";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Descriptor configType() {
        return Buffer.getDescriptor();
    }

    @Override
    public PerStream create(Any typedConfig, Context context) throws ConfigException {
        int max = maxRequestBytes(HttpFilterFactory.unpack(typedConfig, Buffer.class, Buffer.getDescriptor()), "");
        return route -> {
            Object perRoute = route == null ? null : route.perFilterConfig(NAME);
            if (perRoute instanceof RouteConfig rc) {
                return rc.disabled ? null : new BufferFilter(rc.maxRequestBytes);
            }
            return new BufferFilter(max);
        };
    }

    @Override
    public Object createRouteConfig(Any typedConfig) throws ConfigException {
        BufferPerRoute p = HttpFilterFactory.unpack(typedConfig, BufferPerRoute.class, BufferPerRoute.getDescriptor());
        switch (p.getOverrideCase()) {
            case DISABLED:
                if (!p.getDisabled()) {
                    throw new ConfigException("disabled: false (expected: true, or buffer)");
                }
                return new RouteConfig(true, 0);
            case BUFFER:
                return new RouteConfig(false, maxRequestBytes(p.getBuffer(), "buffer."));
            default:
                throw new ConfigException("override: unset (expected: disabled or buffer)");
        }
    }

    private static int maxRequestBytes(Buffer b, String path) throws ConfigException {
        if (!b.hasMaxRequestBytes()) {
            throw new ConfigException(path + "max_request_bytes: unset (expected: a number of bytes above 0)");
        }
        int v = b.getMaxRequestBytes().getValue();
        if (v == 0) {
            throw new ConfigException(path + "max_request_bytes: 0 (expected: above 0)");
        }
        // Held bodies are ByteBufs, bounded by Integer.MAX_VALUE; larger limits are as good as none.
        return v < 0 ? Integer.MAX_VALUE : v;
    }

    /** A route's {@code BufferPerRoute}. */
    record RouteConfig(boolean disabled, int maxRequestBytes) {}
}
