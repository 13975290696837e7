package io.jmesh.proxy.network.tcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;

/**
 * tcp_proxy: bytes both ways through the proxy, a dead upstream closes the client, idle timeout; the shared upstream
 * path (UpstreamRequest): max_requests per proxied connection, connect failures reported to outlier detection.
 */
class TcpProxyTest {

    /** A TCP proxy to {@code echo} at port with this {@code idle_timeout}. */
    static Bootstraps config(int port, String idleTimeout) {
        return Bootstraps.tcp("echo").option("idle_timeout", idleTimeout).cluster("echo", port);
    }

    /** A real echo server on a plain socket. */
    static Thread echo(ServerSocket ss) {
        Thread t = new Thread(() -> {
            while (!ss.isClosed()) {
                try {
                    Socket s = ss.accept();
                    new Thread(() -> {
                        try (s) {
                            s.getInputStream().transferTo(s.getOutputStream());
                        } catch (Exception ignored) {
                            // client went away
                        }
                    }).start();
                } catch (Exception e) {
                    return;
                }
            }
        });
        t.setDaemon(true);
        t.start();
        return t;
    }

    @Test
    void relaysBytesBothWays() throws Exception {
        try (ServerSocket ss = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            echo(ss);
            try (ProxyFixture proxy = config(ss.getLocalPort(), "60s").start(2);
                 Socket c = new Socket("127.0.0.1", proxy.port())) {
                c.setSoTimeout(10_000);
                byte[] payload = new byte[1 << 20];
                for (int i = 0; i < payload.length; i++) {
                    payload[i] = (byte) i;
                }
                Thread writer = new Thread(() -> {
                    try {
                        c.getOutputStream().write(payload);
                        c.getOutputStream().flush();
                    } catch (Exception ignored) {
                        // reported by the reader
                    }
                });
                writer.start();
                byte[] got = c.getInputStream().readNBytes(payload.length);
                assertEquals(payload.length, got.length);
                assertTrue(java.util.Arrays.equals(payload, got));
                assertEquals(1, proxy.counter("tcp.tcp.downstream_cx_total")); // this test's own proxy, one client
            }
        }
    }

    @Test
    void deadUpstreamClosesTheClient() throws Exception {
        int dead;
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            dead = ss.getLocalPort();
        }
        try (ProxyFixture proxy = config(dead, "60s").start(2);
             Socket c = new Socket("127.0.0.1", proxy.port())) {
            c.setSoTimeout(10_000);
            assertEquals(-1, c.getInputStream().read());
        }
    }

    @Test
    void idleTimeoutClosesBothSides() throws Exception {
        try (ServerSocket ss = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            echo(ss);
            try (ProxyFixture proxy = config(ss.getLocalPort(), "0.3s").start(2);
                 Socket c = new Socket("127.0.0.1", proxy.port())) {
                c.setSoTimeout(10_000);
                c.getOutputStream().write("hi".getBytes(StandardCharsets.US_ASCII));
                InputStream in = c.getInputStream();
                assertEquals('h', in.read());
                assertEquals('i', in.read());
                assertEquals(-1, in.read(), "closed after idle_timeout");
            }
        }
    }

    /** A TCP proxy to {@code echo} with a circuit breaker of one request and gateway-failure outlier detection. */
    static Bootstraps guarded(int port) {
        return Bootstraps.tcp("echo")
                .cluster("echo", port)
                .circuitBreakers("echo", "max_requests: 1")
                .outlierDetection("echo", "consecutive_gateway_failure: 2, enforcing_consecutive_gateway_failure: 0");
    }

    @Test
    void eachProxiedConnectionHoldsOneMaxRequestsSlot() throws Exception {
        try (ServerSocket ss = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            echo(ss);
            try (ProxyFixture proxy = guarded(ss.getLocalPort()).start(2)) {
                try (Socket first = new Socket("127.0.0.1", proxy.port())) {
                    first.setSoTimeout(10_000);
                    first.getOutputStream().write('a');
                    assertEquals('a', first.getInputStream().read());
                    try (Socket second = new Socket("127.0.0.1", proxy.port())) {
                        second.setSoTimeout(10_000);
                        assertEquals(-1, second.getInputStream().read(), "over max_requests: closed (UO)");
                    }
                    assertEquals(1, proxy.counter("cluster.echo.upstream_rq_pending_overflow"));
                    first.getOutputStream().write('b');
                    assertEquals('b', first.getInputStream().read(), "the first connection is unaffected");
                }
                Poll.until(() -> proxy.gauge("cluster.echo.upstream_rq_active") == 0, "the slot is given back");
                try (Socket third = new Socket("127.0.0.1", proxy.port())) {
                    third.setSoTimeout(10_000);
                    third.getOutputStream().write('c');
                    assertEquals('c', third.getInputStream().read());
                }
                assertEquals(2, proxy.counter("cluster.echo.upstream_rq_total"));
            }
        }
    }

    @Test
    void connectFailuresAreReportedToOutlierDetection() throws Exception {
        int dead;
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            dead = ss.getLocalPort();
        }
        try (ProxyFixture proxy = guarded(dead).start(2)) {
            for (int i = 0; i < 2; i++) {
                try (Socket c = new Socket("127.0.0.1", proxy.port())) {
                    c.setSoTimeout(10_000);
                    assertEquals(-1, c.getInputStream().read());
                }
            }
            Poll.until(() -> proxy.counter("cluster.echo.outlier_detection.ejections_detected_consecutive_gateway_failure") == 1,
                       "two connect failures in a row are detected as gateway failures");
            Poll.until(() -> proxy.gauge("cluster.echo.upstream_rq_active") == 0, "no slot is left behind");
        }
    }
}
