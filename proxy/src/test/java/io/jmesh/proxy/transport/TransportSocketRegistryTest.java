package io.jmesh.proxy.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/**
 * Transport sockets come from the extension registry: a test socket listed in {@code META-INF/services}
 * ({@link CountingTransportSocketFactory}) carries a listener's and a cluster's connections, and an unknown one is
 * refused by name with its path.
 */
class TransportSocketRegistryTest {

    private static String counting(String label) {
        return "{ name: " + CountingTransportSocketFactory.NAME + ", typed_config: { \"@type\": "
                + "type.googleapis.com/xds.type.v3.TypedStruct, type_url: " + CountingTransportSocketFactory.TYPE_URL
                + ", value: { label: " + label + " } } }";
    }

    /** Sets the listener's filter chain {@code transport_socket}. */
    static String withListenerSocket(String yaml, String flowSocket) {
        String chain = "    - filters:\n";
        assertTrue(yaml.contains(chain), yaml);
        return yaml.replace(chain, "    - transport_socket: " + flowSocket + "\n      filters:\n");
    }

    /** Sets the {@code transport_socket} of the cluster named {@code cluster}. */
    static String withClusterSocket(String yaml, String cluster, String flowSocket) {
        String head = "\n  - name: " + cluster + "\n";
        assertTrue(yaml.contains(head), yaml);
        return yaml.replace(head, head + "    transport_socket: " + flowSocket + "\n");
    }

    @Test
    void aTransportSocketFromServiceLoaderCarriesDownstreamAndUpstreamConnections() throws Exception {
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = ProxyFixture.start(withClusterSocket(withListenerSocket(
                     Bootstraps.http().route("/", "b").cluster("b", backend.port()).build(), counting("both")),
                     "b", counting("both")), Map.of())) {
            // Two curl processes: two downstream connections.
            assertEquals(200, Curl.run(proxy.url("/one")).status);
            assertEquals(200, Curl.run(proxy.url("/two")).status);
            assertEquals(2, CountingTransportSocketFactory.connections("down:both"));
            int upstream = CountingTransportSocketFactory.connections("up:both");
            assertTrue(upstream > 0, "upstream connections: " + upstream);
            assertEquals(backend.connections.get(), upstream, "every upstream connection went through the socket");
        }
    }

    @Test
    void rawBufferIsAcceptedDownstreamAsInEnvoy() throws Exception {
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = ProxyFixture.start(withListenerSocket(
                     Bootstraps.http().route("/", "b").cluster("b", backend.port()).build(),
                     "{ name: envoy.transport_sockets.raw_buffer, typed_config: { \"@type\": "
                             + RawBufferTransportSocketFactory.TYPE_URL + " } }"), Map.of())) {
            assertEquals(200, Curl.run(proxy.url("/")).status);
        }
    }

    @Test
    void anUnknownTransportSocketIsRefusedByNameWithItsPath() {
        String yaml = Bootstraps.http().route("/", "b").cluster("b", 1).build();
        ConfigException down = assertThrows(ConfigException.class, () -> ProxyFixture.start(
                withListenerSocket(yaml, "{ name: jmesh.nope }"), Map.of()));
        assertEquals("static_resources.listeners[0].filter_chains[0].transport_socket: jmesh.nope (expected: "
                + "envoy.transport_sockets.tls with a DownstreamTlsContext)", down.getMessage());
        ConfigException up = assertThrows(ConfigException.class, () -> ProxyFixture.start(
                withClusterSocket(yaml, "b", "{ name: jmesh.nope }"), Map.of()));
        assertEquals("static_resources.clusters[0].transport_socket: jmesh.nope (expected: "
                + "envoy.transport_sockets.tls with an UpstreamTlsContext or envoy.transport_sockets.raw_buffer)",
                up.getMessage());
    }

    @Test
    void aBadConfigOfAnExtensionSocketIsRefusedWithItsPath() {
        ConfigException e = assertThrows(ConfigException.class, () -> ProxyFixture.start(withListenerSocket(
                Bootstraps.http().route("/", "b").cluster("b", 1).build(), counting("\"\"")), Map.of()));
        assertEquals("static_resources.listeners[0].filter_chains[0].transport_socket.typed_config.value.label: "
                + "string_value: \"\"\n (expected: a non-empty string)", e.getMessage());
    }
}
