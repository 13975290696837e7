package io.jmesh.it.rpc;

import java.util.function.IntFunction;

import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;

import io.jmesh.proxy.server.ProxyServer;

/**
 * A real Dubbo provider of {@link GreetingService} ({@link DubboApps#provider(int)}), a proxy in front of it, and a
 * real Dubbo consumer calling the proxy's listener {@code dubbo}. Closes all three, consumer first.
 */
final class DubboThroughProxy implements AutoCloseable {

    final ProxyServer proxy;
    final GreetingService greeting;
    private final DubboBootstrap provider;
    private final DubboBootstrap consumer;

    private DubboThroughProxy(DubboBootstrap provider, ProxyServer proxy, DubboBootstrap consumer,
            GreetingService greeting) {
        this.provider = provider;
        this.proxy = proxy;
        this.consumer = consumer;
        this.greeting = greeting;
    }

    /**
     * Starts the provider on a port of its own, the proxy with the bootstrap {@code bootstrap} makes for that port
     * (it must have a listener {@code dubbo}), and the consumer.
     */
    static DubboThroughProxy start(IntFunction<RpcProxyBootstrap> bootstrap) throws Exception {
        int port = RpcMesh.freePort(); // Dubbo's provider does not report an ephemeral port back
        DubboBootstrap provider = DubboApps.provider(port);
        ProxyServer proxy = null;
        try {
            proxy = bootstrap.apply(port).start();
            ReferenceConfig<GreetingService> reference = new ReferenceConfig<>();
            DubboBootstrap consumer = DubboApps.consumer(proxy.listenerAddresses().get("dubbo"), reference);
            return new DubboThroughProxy(provider, proxy, consumer, reference.get());
        } catch (Exception | Error e) {
            if (proxy != null) {
                proxy.close();
            }
            provider.stop();
            throw e;
        }
    }

    /** The proxy's counter {@code name}, 0 when it does not exist (yet). */
    long counter(String name) {
        return proxy.stats().counterValues().getOrDefault(name, 0L);
    }

    @Override
    public void close() {
        consumer.stop();
        proxy.close();
        provider.stop();
    }
}
