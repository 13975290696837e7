package io.jmesh.proxy.filter.router;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.InvalidProtocolBufferException;

import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.HttpFilterFactory;

/**
 * {@code envoy.filters.http.router}: the terminal filter. Routing itself is done by the connection
 * manager (package {@code io.jmesh.proxy.router} and {@code network.http.ActiveStream}); this factory
 * validates its config and marks the end of the chain.
 */
public final class RouterFilterFactory implements HttpFilterFactory {

    @Override
    public String name() {
        return "envoy.filters.http.router";
    }

    @Override
    public Descriptor configType() {
        return Router.getDescriptor();
    }

    @Override
    public boolean terminal() {
        return true;
    }

    @Override
    public PerStream create(Any typedConfig, Context context) throws ConfigException {
        if (typedConfig.getTypeUrl().isEmpty()) {
            return null;
        }
        try {
            typedConfig.unpack(Router.class);
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException(": " + typedConfig.getTypeUrl() + " (expected: envoy.extensions.filters.http.router.v3.Router)");
        }
        return null;
    }
}
