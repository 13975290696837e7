package io.jmesh.proxy.network.tcp;

import java.util.List;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;

import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.network.NetworkFilterFactory;
import io.jmesh.proxy.network.NetworkFilterInstaller;

/** {@code envoy.filters.network.tcp_proxy}: a terminal filter relaying bytes to a cluster ({@link TcpProxyConfig}). */
public final class TcpProxyFilterFactory implements NetworkFilterFactory {

    public static final String NAME = "envoy.filters.network.tcp_proxy";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<String> typeUrls() {
        return List.of(EnvoyTypes.typeUrl(TcpProxy.getDescriptor()));
    }

    @Override
    public boolean terminal() {
        return true;
    }

    @Override
    public NetworkFilterInstaller create(Any typedConfig, Context context) throws ConfigException {
        TcpProxy proto;
        try {
            proto = typedConfig.unpack(TcpProxy.class);
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException("typed_config: " + typedConfig.getTypeUrl() + " (expected: "
                    + typeUrls().get(0) + ")", e);
        }
        TcpProxyConfig config = TcpProxyConfig.create(proto, context, context.registry(), "typed_config");
        return m -> m.pipeline().addLast("tcp_proxy", new TcpProxyHandler(config));
    }
}
