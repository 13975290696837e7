package io.jmesh.proxy.filter.extauthz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.network.tcp.TcpProxyTestAccess;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;

/** {@code envoy.filters.network.ext_authz} before tcp_proxy with a real gRPC Authorization server and real sockets. */
class NetworkExtAuthzFilterTest {

    static final String EXT_AUTHZ = "envoy.filters.network.ext_authz";

    private static String exchange(int port) throws Exception {
        try (Socket c = new Socket("127.0.0.1", port)) {
            c.setSoTimeout(10_000);
            c.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
            try {
                return new String(c.getInputStream().readNBytes(5), StandardCharsets.US_ASCII);
            } catch (SocketException reset) {
                return "";
            }
        }
    }

    @Test
    void theServiceDecidesWhetherTheConnectionGoesOn() throws Exception {
        try (ServerSocket echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             TestAuthorizationServer authz = new TestAuthorizationServer()) {
            TcpProxyTestAccess.echo(echo);
            try (ProxyFixture proxy = Bootstraps.tcp("echo")
                    .networkFilter(EXT_AUTHZ, Bootstraps.typed("envoy.extensions.filters.network.ext_authz.v3.ExtAuthz",
                            "stat_prefix: tcp_authz, grpc_service: { envoy_grpc: { cluster_name: authz }, timeout: 10s }"))
                    .cluster("echo", echo.getLocalPort())
                    .http2Cluster("authz", authz.port())
                    .start(1)) {
                assertEquals("", exchange(proxy.port()), "denied: closed, nothing echoed");
                CheckRequest seen = authz.received.poll(10, TimeUnit.SECONDS);
                assertEquals(proxy.port(), seen.getAttributes().getDestination().getAddress().getSocketAddress()
                        .getPortValue());
                authz.allowConnections = true;
                assertEquals("hello", exchange(proxy.port()));
                assertEquals(1, proxy.counter("ext_authz.tcp_authz.denied"));
                assertEquals(1, proxy.counter("ext_authz.tcp_authz.ok"));
                assertEquals(1, proxy.counter("ext_authz.tcp_authz.cx_closed"));
                Poll.until(() -> proxy.gauge("ext_authz.tcp_authz.active") == 0, "no check in flight");
            }
        }
    }

    @Test
    void anUnreachableServiceClosesUnlessFailureModeAllow() throws Exception {
        int down;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            down = s.getLocalPort();
        }
        try (ServerSocket echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            TcpProxyTestAccess.echo(echo);
            String type = "envoy.extensions.filters.network.ext_authz.v3.ExtAuthz";
            try (ProxyFixture closed = Bootstraps.tcp("echo")
                    .networkFilter(EXT_AUTHZ, Bootstraps.typed(type, "stat_prefix: a, grpc_service: { envoy_grpc:"
                            + " { cluster_name: authz } }"))
                    .cluster("echo", echo.getLocalPort()).http2Cluster("authz", down).start(1);
                 ProxyFixture open = Bootstraps.tcp("echo")
                    .networkFilter(EXT_AUTHZ, Bootstraps.typed(type, "stat_prefix: b, failure_mode_allow: true,"
                            + " grpc_service: { envoy_grpc: { cluster_name: authz } }"))
                    .cluster("echo", echo.getLocalPort()).http2Cluster("authz", down).start(1)) {
                assertEquals("", exchange(closed.port()));
                assertEquals("hello", exchange(open.port()));
                assertEquals(1, closed.counter("ext_authz.a.error"));
                assertEquals(1, open.counter("ext_authz.b.failure_mode_allowed"));
            }
        }
    }

    @Test
    void badConfigNamesTheField() {
        ConfigException e = assertThrows(ConfigException.class, () -> Bootstraps.tcp("echo")
                .networkFilter(EXT_AUTHZ, Bootstraps.typed("envoy.extensions.filters.network.ext_authz.v3.ExtAuthz",
                        "stat_prefix: a"))
                .cluster("echo", 1).start(1).close());
        assertTrue(e.getMessage().endsWith("typed_config.grpc_service: null (expected: an envoy_grpc service)"),
                e.getMessage());
    }
}
