package io.jmesh.proxy.transport;

import com.google.protobuf.Any;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.extension.ExtensionContext;
import io.jmesh.proxy.extension.ExtensionFactory;
import io.jmesh.proxy.extension.ExtensionKind;

/**
 * Makes the transport socket of a listener's filter chain or of a cluster from its {@code transport_socket}
 * (Envoy's {@code DownstreamTransportSocketConfigFactory} and {@code UpstreamTransportSocketConfigFactory}). Found in
 * the {@link io.jmesh.proxy.extension.ExtensionRegistry} by the config's type URL, else by {@link #name()}; a test or
 * a user jar adds one by listing it in {@code META-INF/services/io.jmesh.proxy.extension.ExtensionFactory}.
 * Factories are stateless and run off the event loop, once per config.
 */
public interface TransportSocketFactory extends ExtensionFactory {

    /** The kind of transport socket factories. */
    ExtensionKind<TransportSocketFactory> KIND = ExtensionKind.of("transport_socket", TransportSocketFactory.class);

    @Override
    default ExtensionKind<?> kind() {
        return KIND;
    }

    /**
     * The transport socket of a listener's filter chain, or null when {@code typedConfig} is not a downstream
     * config of this factory (the listener refuses it by name). Error messages are relative to
     * {@code typed_config}'s fields, e.g. {@code common_tls_context...}.
     *
     * @param typedConfig the {@code typed_config}, or null when the transport socket has only a name
     */
    DownstreamTransportSocket createDownstream(Any typedConfig, ExtensionContext context) throws ConfigException;

    /**
     * The transport socket of a cluster's connections, or null when {@code typedConfig} is not an upstream config of
     * this factory (the cluster refuses it by name). Error messages are relative to {@code typed_config}'s fields.
     *
     * @param typedConfig the {@code typed_config}, or null when the transport socket has only a name
     * @param http2       whether the cluster speaks HTTP/2 (the ALPN a TLS socket offers)
     * @param context     the server's parts (stats, worker event loops, secret manager); its cluster manager is the
     *                    one being built and gives nothing, its lifecycle runs no hooks
     */
    UpstreamTransportSocket createUpstream(Any typedConfig, boolean http2, ExtensionContext context)
            throws ConfigException;
}
