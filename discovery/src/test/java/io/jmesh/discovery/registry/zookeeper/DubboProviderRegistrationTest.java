package io.jmesh.discovery.registry.zookeeper;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.model.ServicePort;
import java.lang.reflect.Field;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingServer;
import org.apache.dubbo.common.utils.NetUtils;
import org.apache.dubbo.config.ApplicationConfig;
import org.apache.dubbo.config.ProtocolConfig;
import org.apache.dubbo.config.RegistryConfig;
import org.apache.dubbo.config.ServiceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.rpc.model.FrameworkModel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A real Dubbo 3 provider (org.apache.dubbo:dubbo) registers into a real ZooKeeper; the registry
 * must see it as Dubbo wrote it, and lose it when the provider stops.
 */
class DubboProviderRegistrationTest {

    private static final String HOST = "io.jmesh.discovery.registry.zookeeper.demoservice";

    private TestingServer zk;
    private FrameworkModel framework;
    private DubboBootstrap bootstrap;
    private ZookeeperServiceRegistry registry;

    @BeforeEach
    void start() throws Exception {
        // Dubbo rewrites loopback to the machine's first non-loopback address (PEERS.md): pin it.
        setStatic("HOST_ADDRESS", "127.0.0.1");
        setStatic("LOCAL_ADDRESS", InetAddress.getByName("127.0.0.1"));
        zk = new TestingServer(new InstanceSpec(null, -1, -1, -1, true, -1, -1, -1,
                Map.of("clientPortAddress", "127.0.0.1")), true);
    }

    @AfterEach
    void stop() throws Exception {
        if (bootstrap != null) {
            bootstrap.destroy();
        }
        if (framework != null) {
            framework.destroy();
        }
        if (registry != null) {
            registry.close();
        }
        zk.close();
    }

    private static void setStatic(String name, Object value) throws ReflectiveOperationException {
        Field f = NetUtils.class.getDeclaredField(name);
        f.setAccessible(true);
        f.set(null, value);
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("never happened: " + what);
            }
            Thread.sleep(10);
        }
    }

    @Test
    void aDubboProviderIsSeenWithItsVersionGroupAndApplication() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            port = s.getLocalPort();
        }
        ApplicationConfig application = new ApplicationConfig("demo-provider");
        application.setQosEnable(false);
        application.setRegisterMode("interface");
        RegistryConfig zkRegistry = new RegistryConfig("zookeeper://" + zk.getConnectString());
        zkRegistry.setUseAsConfigCenter(false);
        zkRegistry.setUseAsMetadataCenter(false);
        ProtocolConfig protocol = new ProtocolConfig("dubbo", port);
        protocol.setHost("127.0.0.1");
        protocol.setServer("loopback");
        ServiceConfig<DemoService> service = new ServiceConfig<>();
        service.setInterface(DemoService.class);
        service.setRef(name -> "hello " + name);
        service.setVersion("1.0.0");
        service.setGroup("blue");
        framework = new FrameworkModel();
        bootstrap = DubboBootstrap.newInstance(framework)
                .application(application).registry(zkRegistry).protocol(protocol).service(service);

        registry = new ZookeeperServiceRegistry(zk.getConnectString());
        bootstrap.start();

        await("the Dubbo provider", () -> registry.endpoints().size() == 1);
        assertEquals(List.of(new Service(HOST, "default", List.of(new ServicePort("dubbo", 20880, "DUBBO", 20880)),
                "STATIC", false, List.of(), registry.name())), registry.services());
        assertEquals(List.of(new Endpoint(HOST, "dubbo", "127.0.0.1", port, Map.of("version", "1.0.0", "group", "blue",
                "application", "demo-provider", "protocol", "dubbo"), "", 100, "", "")), registry.endpoints());

        bootstrap.stop(); // unregisters
        bootstrap = null;
        await("the provider gone", () -> registry.endpoints().isEmpty());
    }
}
