package io.jmesh.it.rpc;

import com.alipay.sofa.rpc.config.ApplicationConfig;
import com.alipay.sofa.rpc.config.ProviderConfig;
import com.alipay.sofa.rpc.config.RegistryConfig;
import com.alipay.sofa.rpc.config.ServerConfig;

/**
 * A real SOFARPC provider of {@link HelloService}, run as a child JVM by {@link ChildJvm} (SOFARPC's ZooKeeper
 * registry needs Curator 4, discovery's Curator 5: they cannot share a JVM). It listens on {@code 127.0.0.1:P}
 * and registers {@code bolt://<sidecar IP>:P} in ZooKeeper with {@code ServerConfig.virtualHost}/{@code
 * virtualPort} (SOFARPC's "address to register instead of the bound one"), so callers reach it through its
 * sidecar. Answers {@code "<appName> <name> x<times>"}. Prints {@link ChildJvm#READY} once exported.
 *
 * <p>Arguments: ZooKeeper {@code host:port}, the address to register, the port, the application name.
 */
public final class SofaProviderMain {

    private SofaProviderMain() {}

    public static void main(String[] args) throws Exception {
        final String zk = args[0];
        final String registerIp = args[1];
        final int port = Integer.parseInt(args[2]);
        final String application = args[3];
        final ServerConfig server = new ServerConfig().setProtocol("bolt").setHost("127.0.0.1")
                .setBoundHost("127.0.0.1").setPort(port).setVirtualHost(registerIp).setVirtualPort(port)
                .setDaemon(false);
        final RegistryConfig registry = new RegistryConfig().setProtocol("zookeeper").setAddress(zk);
        new ProviderConfig<HelloService>()
                .setApplication(new ApplicationConfig().setAppName(application))
                .setInterfaceId(HelloService.class.getName())
                .setRef((name, times) -> application + ' ' + name + " x" + times)
                .setServer(server)
                .setRegistry(registry)
                .export();
        System.out.println(ChildJvm.READY);
        System.out.flush();
        Thread.currentThread().join();
    }
}
