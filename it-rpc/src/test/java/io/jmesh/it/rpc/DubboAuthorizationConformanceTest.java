package io.jmesh.it.rpc;

import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;

import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;

/** {@link AbstractRpcAuthorizationConformanceTest} with real Dubbo apps ({@link GreetingService}). */
class DubboAuthorizationConformanceTest extends AbstractRpcAuthorizationConformanceTest {

    private final Map<String, DubboBootstrap> bootstraps = new HashMap<>();
    private final Map<String, GreetingService> services = new HashMap<>();

    DubboAuthorizationConformanceTest() {
        super("greeting", GreetingService.class, "greet", DubboProviderMain.class, false, RpcMesh.DUBBO_PORT, 81);
    }

    @Override
    void startConsumer(String client, InetSocketAddress sidecar) throws Exception {
        final ReferenceConfig<GreetingService> reference = new ReferenceConfig<>();
        bootstraps.put(client, DubboApps.consumer(sidecar, reference));
        services.put(client, reference.get());
    }

    @Override
    String call(String client) {
        return services.get(client).greet(client);
    }

    @Override
    void stopConsumers() {
        bootstraps.values().forEach(DubboBootstrap::stop);
    }
}
