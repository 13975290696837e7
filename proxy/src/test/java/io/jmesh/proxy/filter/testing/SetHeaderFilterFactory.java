package io.jmesh.proxy.filter.testing;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Struct;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.HttpFilterFactory;
import io.jmesh.proxy.filter.StreamDecoderFilter;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.netty.handler.codec.http.HttpRequest;

/**
 * A test filter found by the registry through {@code META-INF/services}: {@code jmesh.test.set_header} with a
 * {@code google.protobuf.Struct} config {@code {header, value, clear_route_cache}} sets a request header and,
 * when asked, clears the route cache so that the request is routed on the new header (as a JWT filter does on
 * claims). It also records the header in the stream's filter state under {@code jmesh.test.set_header}.
 */
public final class SetHeaderFilterFactory implements HttpFilterFactory {

    public static final String NAME = "jmesh.test.set_header";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Descriptor configType() {
        return Struct.getDescriptor();
    }

    @Override
    public PerStream create(Any typedConfig, Context context) throws ConfigException {
        Struct s = HttpFilterFactory.unpack(typedConfig, Struct.class, Struct.getDescriptor());
        if (!s.containsFields("header") || !s.containsFields("value")) {
            throw new ConfigException(".header: null (expected: header and value)");
        }
        String header = s.getFieldsOrThrow("header").getStringValue();
        String value = s.getFieldsOrThrow("value").getStringValue();
        boolean clear = s.containsFields("clear_route_cache") && s.getFieldsOrThrow("clear_route_cache").getBoolValue();
        return route -> new StreamDecoderFilter() {
            private StreamDecoderFilterCallbacks callbacks;

            @Override
            public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks callbacks) {
                this.callbacks = callbacks;
            }

            @Override
            public FilterHeadersStatus decodeHeaders(HttpRequest headers, boolean endStream) {
                headers.headers().set(header, value);
                callbacks.streamInfo().filterState().put(NAME, header + "=" + value);
                if (clear) {
                    callbacks.clearRouteCache();
                }
                return FilterHeadersStatus.CONTINUE;
            }
        };
    }
}
