package io.jmesh.discovery.registry.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.security.ca.CaRoots;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CA's Secret shared by discovery replicas, on a {@link FakeApiServer} (fabric8's mock API server in CRUD
 * mode: a fake, since no real API server can run here).
 */
@Tag("kubernetes")
class KubernetesCaSecretTest {

    @TempDir
    Path tmp;
    private FakeApiServer api;

    @BeforeEach
    void start() throws Exception {
        api = new FakeApiServer();
    }

    @AfterEach
    void stop() {
        api.close();
    }

    @Test
    void replicasShareTheRootThatTheFirstOneCreated() throws Exception {
        try (var client = api.newClient()) {
            KubernetesCaSecret.materialize(client, "istio-system", "istio-ca-secret", "cluster.local",
                    tmp.resolve("replica-1"));
        }
        assertNotNull(api.client.secrets().inNamespace("istio-system").withName("istio-ca-secret").get());
        try (var client = api.newClient()) {
            KubernetesCaSecret.materialize(client, "istio-system", "istio-ca-secret", "cluster.local",
                    tmp.resolve("replica-2"));
        }
        CaRoots one = CaRoots.load(tmp.resolve("replica-1"), Clock.systemUTC());
        CaRoots two = CaRoots.load(tmp.resolve("replica-2"), Clock.systemUTC());
        assertEquals(one.root(), two.root());
        assertEquals(Files.readString(tmp.resolve("replica-1/ca-key.pem")),
                Files.readString(tmp.resolve("replica-2/ca-key.pem")));
        assertEquals("rw-------", PosixFilePermissions.toString(
                Files.getPosixFilePermissions(tmp.resolve("replica-2/ca-key.pem"))));
    }

    @Test
    void aSecretWithoutTheKeyIsRefusedByName() {
        api.client.secrets().inNamespace("istio-system").resource(new SecretBuilder().withNewMetadata()
                .withName("cacerts").withNamespace("istio-system").endMetadata()
                .withData(Map.of("ca-cert.pem", Base64.getEncoder().encodeToString("x".getBytes()))).build()).create();
        ConfigException e = assertThrows(ConfigException.class, () -> KubernetesCaSecret.materialize(api.client,
                "istio-system", "cacerts", "cluster.local", tmp.resolve("ca")));
        assertTrue(e.getMessage().startsWith("ca-secret: istio-system/cacerts (expected: a Secret with ca-cert.pem "
                + "and ca-key.pem; ca-key.pem is missing)"), e.getMessage());
    }
}
