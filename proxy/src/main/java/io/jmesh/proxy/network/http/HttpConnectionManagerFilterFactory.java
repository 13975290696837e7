package io.jmesh.proxy.network.http;

import java.util.List;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;

import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.network.NetworkFilterFactory;
import io.jmesh.proxy.network.NetworkFilterInstaller;
import io.jmesh.proxy.network.NetworkFilterManager;

/** {@code envoy.filters.network.http_connection_manager}: the terminal HTTP connection manager. */
public final class HttpConnectionManagerFilterFactory implements NetworkFilterFactory {

    public static final String NAME = "envoy.filters.network.http_connection_manager";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<String> typeUrls() {
        return List.of(EnvoyTypes.typeUrl(HttpConnectionManager.getDescriptor()));
    }

    @Override
    public boolean terminal() {
        return true;
    }

    @Override
    public Installer create(Any typedConfig, Context context) throws ConfigException {
        HttpConnectionManager proto;
        try {
            proto = typedConfig.unpack(HttpConnectionManager.class);
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException("typed_config: " + typedConfig.getTypeUrl() + " (expected: "
                    + typeUrls().get(0) + ")", e);
        }
        return new Installer(new HttpConnectionManagerInitializer(HttpConnectionManagerConfig.create(proto,
                context.clusterManager(), context.stats(), "typed_config", context.routes(),
                context.registry().httpFilters(), context.registry(), context)));
    }

    /** Sets up a connection for HTTP: ALPN after TLS, else per {@code codec_type}. */
    public static final class Installer implements NetworkFilterInstaller {
        private final HttpConnectionManagerInitializer initializer;

        Installer(HttpConnectionManagerInitializer initializer) {
            this.initializer = initializer;
        }

        /** The validated HTTP connection manager. */
        public HttpConnectionManagerConfig config() {
            return initializer.config();
        }

        @Override
        public void install(NetworkFilterManager m) {
            if (m.secure()) {
                initializer.initSecure(m.pipeline());
            } else {
                initializer.initCleartext(m.pipeline());
            }
        }
    }
}
