package io.jmesh.proxy.transport;

import java.util.List;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;

import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.extension.ExtensionContext;
import io.jmesh.proxy.tls.ClientTlsProvider;
import io.jmesh.proxy.tls.ServerTlsProvider;

/**
 * {@value #NAME}: TLS with a {@code DownstreamTlsContext} on a filter chain ({@link ServerTlsProvider}) and an
 * {@code UpstreamTlsContext} on a cluster ({@link ClientTlsProvider}); certificates come from the context's secret
 * manager (inline, files or SDS), read per new connection. Upstream, the name alone means an empty
 * {@code UpstreamTlsContext} (TLS without verification, as Envoy).
 */
public final class TlsTransportSocketFactory implements TransportSocketFactory {

    /** Envoy's name of the TLS transport socket. */
    public static final String NAME = "envoy.transport_sockets.tls";
    /** The downstream config's type URL. */
    public static final String DOWNSTREAM_TYPE_URL =
            "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";
    /** The upstream config's type URL. */
    public static final String UPSTREAM_TYPE_URL =
            "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<String> typeUrls() {
        return List.of(DOWNSTREAM_TYPE_URL, UPSTREAM_TYPE_URL);
    }

    @Override
    public DownstreamTransportSocket createDownstream(Any typedConfig, ExtensionContext context)
            throws ConfigException {
        if (typedConfig == null || !typedConfig.is(DownstreamTlsContext.class)) {
            return null;
        }
        final DownstreamTlsContext config;
        try {
            config = typedConfig.unpack(DownstreamTlsContext.class);
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException("typed_config: " + e.getMessage());
        }
        ServerTlsProvider tls;
        try {
            tls = ServerTlsProvider.create(config, context.secretManager());
        } catch (ConfigException e) {
            throw e.under("typed_config");
        }
        return new DownstreamTransportSocket() {
            @Override
            public ServerTlsProvider tls() {
                return tls;
            }
        };
    }

    @Override
    public UpstreamTransportSocket createUpstream(Any typedConfig, boolean http2, ExtensionContext context)
            throws ConfigException {
        UpstreamTlsContext config;
        if (typedConfig == null || typedConfig.getTypeUrl().isEmpty()) {
            config = UpstreamTlsContext.getDefaultInstance();
        } else if (UPSTREAM_TYPE_URL.equals(typedConfig.getTypeUrl())) {
            try {
                config = typedConfig.unpack(UpstreamTlsContext.class);
            } catch (InvalidProtocolBufferException e) {
                throw new ConfigException("typed_config: " + e.getMessage() + " (expected: a valid UpstreamTlsContext)",
                        e);
            }
        } else {
            return null;
        }
        ClientTlsProvider tls;
        try {
            tls = ClientTlsProvider.create(config, http2, context.secretManager());
        } catch (ConfigException e) {
            throw e.under("typed_config");
        }
        return new UpstreamTransportSocket() {
            @Override
            public ClientTlsProvider tls() {
                return tls;
            }
        };
    }
}
