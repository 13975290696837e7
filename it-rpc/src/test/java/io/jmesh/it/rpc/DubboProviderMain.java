package io.jmesh.it.rpc;

import org.apache.dubbo.config.ApplicationConfig;
import org.apache.dubbo.config.ProtocolConfig;
import org.apache.dubbo.config.RegistryConfig;
import org.apache.dubbo.config.ServiceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;

/**
 * A real Dubbo 3 provider of {@link GreetingService}, run as a child JVM by {@link ChildJvm}: it registers in
 * ZooKeeper with its sidecar's inbound address and listens on {@code 127.0.0.1} at the same port, so that
 * callers reach it through that sidecar. Answers {@code "<application> <name>"}. Prints {@link ChildJvm#READY}
 * once exported.
 *
 * <p>Arguments: ZooKeeper {@code host:port}, the address to register (its sidecar's IP, e.g. {@code 127.0.0.21}),
 * the port, the application name.
 *
 * <p>How the registered address is chosen: Dubbo registers the bind host, or {@code DUBBO_IP_TO_REGISTRY}; it
 * refuses any {@code 127.x} value there ("invalid registry ip") and replaces a {@code 127.x} host by
 * {@code NetUtils.getLocalHost()}. So this provider sets that (Dubbo's cached local host, a private static) to
 * the sidecar's IP: on one machine the workload's "own" IP is the loopback IP of its sidecar. With a real
 * address (a pod IP), {@code DUBBO_IP_TO_REGISTRY} or nothing at all does the same.
 */
public final class DubboProviderMain {

    private DubboProviderMain() {}

    public static void main(String[] args) throws Exception {
        final String zk = args[0];
        final String registerIp = args[1];
        final int port = Integer.parseInt(args[2]);
        final String application = args[3];
        DubboApps.setLocalHost(registerIp);

        final ApplicationConfig app = new ApplicationConfig(application);
        app.setQosEnable(false);
        app.setRegisterMode("interface");
        final RegistryConfig registry = new RegistryConfig("zookeeper://" + zk);
        registry.setUseAsConfigCenter(false);
        registry.setUseAsMetadataCenter(false);
        registry.setSession(4000); // a killed provider leaves ZooKeeper within seconds
        final ProtocolConfig protocol = new ProtocolConfig("dubbo", port);
        protocol.setServer("jmeshloopback");
        final ServiceConfig<GreetingService> service = new ServiceConfig<>();
        service.setInterface(GreetingService.class);
        service.setRef(name -> application + ' ' + name);
        service.setVersion("1.0.0");
        DubboBootstrap.getInstance().application(app).registry(registry).protocol(protocol).service(service).start();
        System.out.println(ChildJvm.READY);
        System.out.flush();
        Thread.currentThread().join();
    }
}
