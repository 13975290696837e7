package io.jmesh.proxy.network.rpc;

import java.util.List;

import com.google.protobuf.Any;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.network.NetworkFilterFactory;
import io.jmesh.proxy.network.NetworkFilterInstaller;

/** {@value RpcProxyConfig#FILTER_NAME}: the terminal RPC proxy ({@link RpcProxyConfig}). */
public final class RpcProxyFilterFactory implements NetworkFilterFactory {

    @Override
    public String name() {
        return RpcProxyConfig.FILTER_NAME;
    }

    @Override
    public List<String> typeUrls() {
        return List.of(RpcProxyConfig.TYPE_URL);
    }

    @Override
    public boolean terminal() {
        return true;
    }

    @Override
    public NetworkFilterInstaller create(Any typedConfig, Context context) throws ConfigException {
        RpcProxyConfig config = RpcProxyConfig.create(typedConfig, context, context.registry(), "typed_config");
        return m -> config.initPipeline(m.pipeline());
    }
}
