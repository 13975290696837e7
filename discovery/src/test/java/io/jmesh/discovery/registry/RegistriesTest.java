package io.jmesh.discovery.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.jmesh.discovery.registry.nacos.NacosServiceRegistry;
import io.jmesh.discovery.registry.zookeeper.ZookeeperServiceRegistry;
import io.jmesh.proxy.config.ConfigException;
import java.util.List;
import org.junit.jupiter.api.Test;

class RegistriesTest {

    @Test
    void zookeeperUris() throws Exception {
        // Nothing listens on these: the registry connects in the background and start never fails.
        try (ServiceRegistry r = Registries.fromUri("zookeeper://127.0.0.1:1,127.0.0.2")) {
            ZookeeperServiceRegistry zk = assertInstanceOf(ZookeeperServiceRegistry.class, r);
            assertEquals("127.0.0.1:1,127.0.0.2:2181", zk.connectString());
            assertEquals("zookeeper://127.0.0.1:1,127.0.0.2:2181", r.name());
            assertEquals(List.of(), r.services());
        }
    }

    @Test
    void nacosUris() throws Exception {
        try (ServiceRegistry r = Registries.fromUri("nacos://127.0.0.1:1/?namespace=dev")) {
            assertInstanceOf(NacosServiceRegistry.class, r);
            assertEquals("nacos://127.0.0.1:1?namespace=dev", r.name());
        }
        try (ServiceRegistry r = Registries.fromUri("nacos://localhost")) {
            assertEquals("nacos://localhost:8848", r.name());
        }
        try (ServiceRegistry r = Registries.fromUri("consul://localhost")) {
            assertEquals("consul://localhost:8500", r.name());
        }
    }

    @Test
    void anythingElseIsAClearError() {
        for (String bad : List.of("consul://127.0.0.1:8500?dc=x", "consul://h:x", "127.0.0.1:2181", "zookeeper://", "zookeeper://h:0",
                "zookeeper://h:99999", "zookeeper://h:x", "zookeeper://h:2181?backup=h2", "zookeeper://h:1,,h:2",
                "nacos://h:8848?group=x", "nacos://h:8848/nacos", "nacos://user@h:8848")) {
            ConfigException e = assertThrows(ConfigException.class, () -> Registries.fromUri(bad), bad);
            assertEquals("registry: " + bad + " (expected: zookeeper://HOST:PORT[,HOST:PORT...], "
                    + "nacos://HOST:PORT[?namespace=ID] or consul://HOST:PORT)", e.getMessage());
        }
    }
}
