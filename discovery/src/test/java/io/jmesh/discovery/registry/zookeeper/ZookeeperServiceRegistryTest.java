package io.jmesh.discovery.registry.zookeeper;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.model.ServicePort;
import java.net.InetSocketAddress;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryForever;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.CreateMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Against a real ZooKeeper (curator-test's {@link TestingServer}, bound to 127.0.0.1). */
class ZookeeperServiceRegistryTest {

    private static final String DEMO = "org.apache.dubbo.demo.DemoService";
    private static final String DEMO_HOST = "org.apache.dubbo.demo.demoservice";
    private static final String HELLO = "com.alipay.sofa.rpc.sample.HelloService";
    private static final String HELLO_HOST = "com.alipay.sofa.rpc.sample.helloservice";
    private static final ServicePort DUBBO_PORT = new ServicePort("dubbo", 20880, "DUBBO", 20880);
    private static final ServicePort BOLT_PORT = new ServicePort("bolt", 12200, "BOLT", 12200);

    private TestingServer zk;
    private CuratorFramework writer;
    private ZookeeperServiceRegistry registry;

    @BeforeEach
    void startZooKeeper() throws Exception {
        zk = startServer(-1);
        writer = client(zk.getConnectString());
    }

    @AfterEach
    void stop() throws Exception {
        if (registry != null) {
            registry.close();
        }
        if (writer != null) {
            writer.close();
        }
        if (zk != null) {
            zk.close();
        }
    }

    private static TestingServer startServer(int port) throws Exception {
        return new TestingServer(new InstanceSpec(null, port, -1, -1, true, -1, -1, -1,
                Map.of("clientPortAddress", "127.0.0.1")), true);
    }

    private static CuratorFramework client(String connectString) {
        CuratorFramework c = CuratorFrameworkFactory.builder().connectString(connectString)
                .sessionTimeoutMs(30_000).retryPolicy(new RetryForever(100)).build();
        c.start();
        return c;
    }

    private static String dubboUrl(int port, String version, String group, String extra) {
        return "dubbo://127.0.0.1:" + port + "/" + DEMO + "?anyhost=true&application=demo-provider&deprecated=false"
                + "&dubbo=2.0.2&dynamic=true&generic=false" + (group == null ? "" : "&group=" + group)
                + "&interface=" + DEMO + "&methods=sayHello,sayHelloAsync&pid=4242&release=3.3.6&side=provider"
                + "&timestamp=1700000000000&version=" + version + extra;
    }

    private static String sofaUrl(int port, String uniqueId) {
        return "bolt://127.0.0.1:" + port + "?version=1.0&uniqueId=" + uniqueId + "&interface=" + HELLO
                + "&timeout=3000&delay=-1&id=rpc-cfg-0&dynamic=true&weight=50&accepts=100000"
                + "&startTime=1700000000000&appName=hello-app&serialization=hessian2&protocol=bolt"
                + "&language=java&pid=4243&rpcVer=51302";
    }

    private String register(CuratorFramework c, String root, String iface, String url) throws Exception {
        String path = root + "/" + iface + "/providers/" + URLEncoder.encode(url, StandardCharsets.UTF_8);
        c.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(path);
        return path;
    }

    private static Endpoint dubboEndpoint(int port, String version, String group, int weight) {
        Map<String, String> labels = group == null
                ? Map.of("version", version, "application", "demo-provider", "protocol", "dubbo")
                : Map.of("version", version, "group", group, "application", "demo-provider", "protocol", "dubbo");
        return new Endpoint(DEMO_HOST, "dubbo", "127.0.0.1", port, labels, "", weight, "", "");
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("never happened: " + what);
            }
            Thread.sleep(10);
        }
    }

    @Test
    void dubboProvidersBecomeOneServiceWithAnEndpointPerProvider() throws Exception {
        register(writer, "/dubbo", DEMO, dubboUrl(20880, "1.0.0", "g1", ""));
        register(writer, "/dubbo", DEMO, dubboUrl(20881, "2.0.0", null, "&weight=300"));
        register(writer, "/dubbo", DEMO, dubboUrl(20882, "3.0.0", null, "&disabled=true"));
        register(writer, "/dubbo", DEMO, "rest://127.0.0.1:8080/" + DEMO + "?version=1.0.0");
        // Not providers: consumers and configurators are ignored.
        writer.create().creatingParentsIfNeeded().forPath("/dubbo/" + DEMO + "/consumers/"
                + URLEncoder.encode("consumer://127.0.0.1/" + DEMO + "?side=consumer", StandardCharsets.UTF_8));
        writer.create().creatingParentsIfNeeded().forPath("/dubbo/" + DEMO + "/configurators");

        AtomicInteger changes = new AtomicInteger();
        registry = new ZookeeperServiceRegistry(zk.getConnectString());
        registry.addListener(r -> changes.incrementAndGet());
        await("two endpoints", () -> registry.endpoints().size() == 2);

        assertEquals(List.of(new Service(DEMO_HOST, "default", List.of(DUBBO_PORT), "STATIC", false, List.of(),
                "zookeeper://" + zk.getConnectString())), registry.services());
        assertEquals(List.of(dubboEndpoint(20880, "1.0.0", "g1", 100), dubboEndpoint(20881, "2.0.0", null, 300)),
                registry.endpoints());
        assertTrue(changes.get() >= 1);
        assertTrue(registry.status().connected());
    }

    @Test
    void sofaRpcProvidersUseBoltWithUniqueIdAsGroup() throws Exception {
        register(writer, "/sofa-rpc", HELLO, sofaUrl(12201, "blue"));
        register(writer, "/sofa-rpc", HELLO, sofaUrl(12202, ""));
        registry = new ZookeeperServiceRegistry(zk.getConnectString());
        await("two endpoints", () -> registry.endpoints().size() == 2);

        assertEquals(List.of(new Service(HELLO_HOST, "default", List.of(BOLT_PORT), "STATIC", false, List.of(),
                registry.name())), registry.services());
        assertEquals(List.of(
                new Endpoint(HELLO_HOST, "bolt", "127.0.0.1", 12201, Map.of("version", "1.0", "group", "blue",
                        "application", "hello-app", "protocol", "bolt"), "", 50, "", ""),
                new Endpoint(HELLO_HOST, "bolt", "127.0.0.1", 12202, Map.of("version", "1.0",
                        "application", "hello-app", "protocol", "bolt"), "", 50, "", "")),
                registry.endpoints());
    }

    @Test
    void addedAndRemovedProvidersArePushedAndAnEndedSessionRemovesItsProviders() throws Exception {
        registry = new ZookeeperServiceRegistry(zk.getConnectString());
        AtomicInteger changes = new AtomicInteger();
        registry.addListener(r -> changes.incrementAndGet());
        await("connected", () -> registry.status().connected());

        String first = register(writer, "/dubbo", DEMO, dubboUrl(20880, "1.0.0", null, ""));
        await("first provider", () -> registry.endpoints().equals(List.of(dubboEndpoint(20880, "1.0.0", null, 100))));
        int afterFirst = changes.get();
        assertTrue(afterFirst >= 1, "listeners are told");

        CuratorFramework provider2 = client(zk.getConnectString());
        register(provider2, "/dubbo", DEMO, dubboUrl(20881, "2.0.0", null, ""));
        await("second provider", () -> registry.endpoints().size() == 2);
        assertTrue(changes.get() > afterFirst);

        writer.delete().forPath(first);
        await("first removed", () -> registry.endpoints().equals(List.of(dubboEndpoint(20881, "2.0.0", null, 100))));

        provider2.close(); // the session ends: ZooKeeper removes its ephemeral provider node
        await("second removed with its session", () -> registry.endpoints().isEmpty());
        assertEquals(List.of(), registry.services());
    }

    @Test
    void keepsTheLastEndpointsWhileZooKeeperIsDownThenFollowsItAgain() throws Exception {
        String first = register(writer, "/dubbo", DEMO, dubboUrl(20880, "1.0.0", null, ""));
        registry = new ZookeeperServiceRegistry(zk.getConnectString());
        await("first provider", () -> registry.endpoints().size() == 1);
        List<Endpoint> known = registry.endpoints();

        zk.stop();
        await("disconnection seen", () -> !registry.status().connected());
        assertTrue(registry.status().detail().contains("keeping the last known 1 services and 1 endpoints"),
                registry.status().detail());
        assertEquals(known, registry.endpoints(), "the last known endpoints are kept");
        assertEquals(1, registry.services().size());

        zk.restart();
        await("reconnected", () -> registry.status().connected());
        writer.delete().forPath(first);
        register(writer, "/dubbo", DEMO, dubboUrl(20890, "1.0.0", null, ""));
        await("changes after the restart",
                () -> registry.endpoints().equals(List.of(dubboEndpoint(20890, "1.0.0", null, 100))));
    }

    @Test
    void anUnreachableZooKeeperAtStartIsRetriedInTheBackground() throws Exception {
        int port = zk.getPort();
        writer.close();
        writer = null;
        zk.close(); // nothing listens on port any more
        registry = new ZookeeperServiceRegistry("127.0.0.1:" + port);
        assertFalse(registry.status().connected());
        assertEquals(List.of(), registry.services());

        zk = startServer(port);
        writer = client(zk.getConnectString());
        register(writer, "/dubbo", DEMO, dubboUrl(20880, "1.0.0", null, ""));
        await("provider after ZooKeeper came up",
                () -> registry.endpoints().equals(List.of(dubboEndpoint(20880, "1.0.0", null, 100))));
    }

    @Test
    void discoveryServesZooKeeperServicesNextToTheFileRegistry(@TempDir Path configDir) throws Exception {
        Files.writeString(configDir.resolve("se.yaml"), """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: web, namespace: default}
                spec:
                  hosts: [web.example.com]
                  resolution: STATIC
                  ports: [{number: 80, name: http, protocol: HTTP}]
                  endpoints: [{address: 10.0.0.1}]
                """);
        register(writer, "/dubbo", DEMO, dubboUrl(20880, "1.0.0", "g1", ""));
        registry = new ZookeeperServiceRegistry(zk.getConnectString());
        InetSocketAddress any = new InetSocketAddress("127.0.0.1", 0);
        try (DiscoveryServer d = DiscoveryServer.start(new DiscoveryOptions(configDir, any, any, null,
                Duration.ofMillis(10)), List.of(registry))) {
            await("the Dubbo service in the snapshot", () -> d.snapshot().service(DEMO_HOST) != null
                    && d.snapshot().endpoints(DEMO_HOST, "dubbo").size() == 1);
            assertEquals(List.of(dubboEndpoint(20880, "1.0.0", "g1", 100)), d.snapshot().endpoints(DEMO_HOST, "dubbo"));
            assertEquals("file", d.snapshot().service("web.example.com").registry());

            register(writer, "/dubbo", DEMO, dubboUrl(20881, "2.0.0", null, ""));
            await("the new provider pushed", () -> d.snapshot().endpoints(DEMO_HOST, "dubbo").size() == 2);
        }
        registry = null; // closed by discovery
    }
}
