package io.jmesh.proxy.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;


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

    @Test
    void aTransportSocketFromServiceLoaderCarriesDownstreamAndUpstreamConnections() throws Exception {
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.http()
                     .transportSocket(counting("both"))
                     .route("/", "b").cluster("b", backend.port())
                     .clusterOption("b", "transport_socket", counting("both"))
                     .start()) {
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
             ProxyFixture proxy = Bootstraps.http()
                     .transportSocket("{ name: envoy.transport_sockets.raw_buffer, typed_config: "
                             + Bootstraps.typed("envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer", "")
                             + " }")
                     .route("/", "b").cluster("b", backend.port()).start()) {
            assertEquals(200, Curl.run(proxy.url("/")).status);
        }
    }

    @Test
    void anUnknownTransportSocketIsRefusedByNameWithItsPath() {
        ConfigException down = assertThrows(ConfigException.class, () -> Bootstraps.http()
                .transportSocket("{ name: jmesh.nope }").route("/", "b").cluster("b", 1).start());
        assertEquals("static_resources.listeners[0].filter_chains[0].transport_socket: jmesh.nope (expected: "
                + "envoy.transport_sockets.tls with a DownstreamTlsContext)", down.getMessage());
        ConfigException up = assertThrows(ConfigException.class, () -> Bootstraps.http()
                .route("/", "b").cluster("b", 1).clusterOption("b", "transport_socket", "{ name: jmesh.nope }")
                .start());
        assertEquals("static_resources.clusters[0].transport_socket: jmesh.nope (expected: "
                + "envoy.transport_sockets.tls with an UpstreamTlsContext or envoy.transport_sockets.raw_buffer)",
                up.getMessage());
    }

    @Test
    void aBadConfigOfAnExtensionSocketIsRefusedWithItsPath() {
        ConfigException e = assertThrows(ConfigException.class, () -> Bootstraps.http()
                .transportSocket(counting("\"\"")).route("/", "b").cluster("b", 1).start());
        assertEquals("static_resources.listeners[0].filter_chains[0].transport_socket.typed_config.value.label: "
                + "string_value: \"\"\n (expected: a non-empty string)", e.getMessage());
    }
}
