package io.jmesh.proxy.listener;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.config.BootstrapLoader;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.testing.Bootstraps;

/**
 * Binding listeners: a failure names the listener and the address it was configured with (it once said
 * {@code cannot bind null}), and {@code freebind: true} binds an address that is not configured on this host, as
 * Envoy's IP_FREEBIND does. 192.0.2.1 (TEST-NET-1) is only bound, never sent to.
 */
class ListenerBindTest {

    private static String yaml(String address, int port, String listenerFields) {
        Bootstraps b = Bootstraps.http().listener("main").route("/", "backend").cluster("backend", 9);
        if (listenerFields != null) {
            b.listenerOption("freebind", listenerFields);
        }
        return b.build().replace("  - name: main\n    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }",
                "  - name: main\n    address: { socket_address: { address: " + address + ", port_value: " + port + " } }");
    }

    @Test
    void aPortInUseIsReportedWithTheConfiguredAddress() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();
            String config = yaml("127.0.0.1", port, null);
            assertTrue(config.contains("port_value: " + port), config);
            ConfigException e = assertThrows(ConfigException.class,
                    () -> ProxyServer.start(BootstrapLoader.parse(config), 1).close());
            assertTrue(e.getMessage().startsWith("listener main: cannot bind 127.0.0.1:" + port + ": "), e.getMessage());
            assertTrue(e.getMessage().contains("Address already in use"), e.getMessage());
        }
    }

    @Test
    void freebindBindsAnAddressThisHostDoesNotHave() throws Exception {
        ConfigException without = assertThrows(ConfigException.class,
                () -> ProxyServer.start(BootstrapLoader.parse(yaml("192.0.2.1", 0, null)), 1).close());
        assertTrue(without.getMessage().startsWith("listener main: cannot bind 192.0.2.1:0: "), without.getMessage());

        ProxyServer server = ProxyServer.start(BootstrapLoader.parse(yaml("192.0.2.1", 0, "true")), 1);
        try {
            InetSocketAddress bound = server.listenerAddresses().get("main");
            assertEquals("192.0.2.1", bound.getAddress().getHostAddress());
            assertTrue(bound.getPort() > 0);
        } finally {
            server.close();
        }
    }
}
