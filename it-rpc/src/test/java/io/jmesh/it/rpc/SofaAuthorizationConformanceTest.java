package io.jmesh.it.rpc;

import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;

import com.alipay.sofa.rpc.config.ConsumerConfig;

/** {@link AbstractRpcAuthorizationConformanceTest} with real SOFARPC (Bolt) apps ({@link HelloService}). */
class SofaAuthorizationConformanceTest extends AbstractRpcAuthorizationConformanceTest {

    private final Map<String, ConsumerConfig<HelloService>> consumers = new HashMap<>();
    private final Map<String, HelloService> services = new HashMap<>();

    SofaAuthorizationConformanceTest() {
        super("hello", HelloService.class, "sayHello", SofaProviderMain.class, true, RpcMesh.BOLT_PORT, 91);
    }

    @Override
    void startConsumer(String client, InetSocketAddress sidecar) {
        final ConsumerConfig<HelloService> consumer = SofaApps.consumer(sidecar);
        consumers.put(client, consumer);
        services.put(client, consumer.refer());
    }

    @Override
    String call(String client) {
        return services.get(client).sayHello(client, 2);
    }

    @Override
    void stopConsumers() {
        consumers.values().forEach(ConsumerConfig::unRefer);
    }
}
