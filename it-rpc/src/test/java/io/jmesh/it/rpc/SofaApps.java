package io.jmesh.it.rpc;

import java.net.InetSocketAddress;

import com.alipay.sofa.rpc.config.ConsumerConfig;
import com.alipay.sofa.rpc.config.ProviderConfig;
import com.alipay.sofa.rpc.config.ServerConfig;

/**
 * Real SOFARPC apps in the test JVM: a consumer pointed at its sidecar (the only change an app makes to join the
 * mesh) and a provider on a given port.
 */
final class SofaApps {

    private SofaApps() {}

    /**
     * Exports a provider of {@link HelloService} (answering {@code "hello <name>"} {@code times} times) on
     * {@code 127.0.0.1:port}, registered nowhere; destroy the returned server to stop it.
     */
    static ServerConfig provider(int port) {
        return provider(port, (name, times) -> ("hello " + name + " ").repeat(times).trim());
    }

    /** As {@link #provider(int)}, answering with {@code ref}. */
    static ServerConfig provider(int port, HelloService ref) {
        final ServerConfig server = new ServerConfig().setProtocol("bolt").setHost("127.0.0.1")
                .setBoundHost("127.0.0.1").setPort(port).setDaemon(true);
        new ProviderConfig<HelloService>()
                .setInterfaceId(HelloService.class.getName())
                .setRef(ref)
                .setServer(server)
                .setRegister(false)
                .export();
        return server;
    }

    /** A consumer of {@link HelloService} with {@code bolt://<sidecar outbound>} as its direct URL; call refer(). */
    static ConsumerConfig<HelloService> consumer(InetSocketAddress sidecar) {
        return new ConsumerConfig<HelloService>()
                .setInterfaceId(HelloService.class.getName())
                .setProtocol("bolt")
                .setDirectUrl("bolt://127.0.0.1:" + sidecar.getPort())
                .setRegister(false)
                .setSubscribe(false)
                .setTimeout(5000);
    }
}
