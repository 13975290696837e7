package io.jmesh.it.rpc;

import java.lang.reflect.Field;
import java.net.InetAddress;
import java.net.InetSocketAddress;

import org.apache.dubbo.common.utils.NetUtils;
import org.apache.dubbo.config.ApplicationConfig;
import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.ProtocolConfig;
import org.apache.dubbo.config.ServiceConfig;
import org.apache.dubbo.config.RegistryConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.rpc.model.FrameworkModel;

/** A real Dubbo consumer in the test JVM, pointed at its sidecar: the only change an app makes to join the mesh. */
final class DubboApps {

    private DubboApps() {}

    /**
     * Starts, in this JVM, a provider of {@link GreetingService} 1.0.0 answering {@code "hello " + name} on
     * {@code 127.0.0.1:port}, registered nowhere.
     */
    static DubboBootstrap provider(int port) throws Exception {
        return provider(port, name -> "hello " + name);
    }

    /** As {@link #provider(int)}, answering with {@code ref}. */
    static DubboBootstrap provider(int port, GreetingService ref) throws Exception {
        setLocalHost("127.0.0.1");
        final ServiceConfig<GreetingService> service = new ServiceConfig<>();
        service.setInterface(GreetingService.class);
        service.setRef(ref);
        service.setVersion("1.0.0");
        final ProtocolConfig protocol = new ProtocolConfig("dubbo", port);
        protocol.setHost("127.0.0.1");
        final ApplicationConfig app = new ApplicationConfig("greeting-provider");
        app.setQosEnable(false);
        return DubboBootstrap.newInstance(new FrameworkModel()).application(app)
                .registry(new RegistryConfig("N/A")).protocol(protocol).service(service).start();
    }

    /**
     * Starts a consumer of {@link GreetingService} 1.0.0 calling {@code dubbo://<sidecar outbound>}. Dubbo rewrites
     * 127.0.0.1 to the machine's first non-loopback address: pinned to loopback first.
     */
    static DubboBootstrap consumer(InetSocketAddress sidecar, ReferenceConfig<GreetingService> reference)
            throws Exception {
        setLocalHost("127.0.0.1");
        reference.setInterface(GreetingService.class);
        reference.setVersion("1.0.0");
        reference.setUrl("dubbo://127.0.0.1:" + sidecar.getPort());
        reference.setTimeout(5000);
        reference.setRetries(0);
        final ApplicationConfig app = new ApplicationConfig("greeting-consumer");
        app.setQosEnable(false);
        return DubboBootstrap.newInstance(new FrameworkModel()).application(app)
                .registry(new RegistryConfig("N/A")).reference(reference).start();
    }

    /**
     * Sets the address Dubbo takes for this machine's ({@code NetUtils.getLocalHost()}, private statics): the
     * address a provider registers when its host is {@code 127.x}, and the one a consumer dials for 127.0.0.1.
     */
    static void setLocalHost(String ip) throws Exception {
        final Field host = NetUtils.class.getDeclaredField("HOST_ADDRESS");
        host.setAccessible(true);
        host.set(null, ip);
        final Field local = NetUtils.class.getDeclaredField("LOCAL_ADDRESS");
        local.setAccessible(true);
        local.set(null, InetAddress.getByName(ip));
    }
}
