package io.jmesh.proxy.listener.originaldst;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.listener.FakeListenerFilterCallbacks;
import io.jmesh.proxy.network.FilterStatus;
import io.jmesh.proxy.network.tcp.TcpProxyTestAccess;
import io.jmesh.proxy.testing.AccessLogFiles;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.ProxyFixture;

/**
 * original_dst: the address a look-up supplies becomes the connection's original destination (a unit test with the
 * address supplied, since redirecting needs iptables as root); {@code sockaddr} parsing; and on a real, not
 * redirected epoll connection the {@code SO_ORIGINAL_DST} path leaves the local address in place.
 */
class OriginalDstFilterTest {

    static final InetSocketAddress LOCAL = new InetSocketAddress("127.0.0.1", 15001);
    static final InetSocketAddress REMOTE = new InetSocketAddress("127.0.0.1", 40000);

    @Test
    void suppliedOriginalDestinationIsRecorded() {
        InetSocketAddress dst = new InetSocketAddress("10.96.0.10", 9080);
        FakeListenerFilterCallbacks cb = new FakeListenerFilterCallbacks(LOCAL, REMOTE);
        assertEquals(FilterStatus.CONTINUE, new OriginalDstFilter(ch -> dst).onAccept(cb));
        assertEquals(dst, cb.info.originalDestination());
        assertEquals(dst, cb.info.destinationAddress());
        cb.channel.finishAndReleaseAll();

        FakeListenerFilterCallbacks same = new FakeListenerFilterCallbacks(LOCAL, REMOTE);
        new OriginalDstFilter(ch -> LOCAL).onAccept(same);
        assertNull(same.info.originalDestination(), "not redirected");
        FakeListenerFilterCallbacks none = new FakeListenerFilterCallbacks(LOCAL, REMOTE);
        new OriginalDstFilter(ch -> null).onAccept(none);
        assertNull(none.info.originalDestination());
        assertEquals(LOCAL, none.info.destinationAddress());
    }

    @Test
    void parsesSockaddrIn() throws Exception {
        ByteBuffer v4 = ByteBuffer.allocate(16).order(ByteOrder.nativeOrder());
        v4.putShort(0, (short) 2);
        v4.put(2, (byte) 0x23).put(3, (byte) 0x78); // 9080
        v4.put(4, (byte) 10).put(5, (byte) 96).put(6, (byte) 0).put(7, (byte) 10);
        assertEquals(new InetSocketAddress("10.96.0.10", 9080), OriginalDstFilter.parseSockaddr(v4));
        ByteBuffer v6 = ByteBuffer.allocate(28).order(ByteOrder.nativeOrder());
        v6.putShort(0, (short) 10);
        v6.put(2, (byte) 0x01).put(3, (byte) 0xbb);
        v6.put(8, (byte) 0xfd).put(23, (byte) 5);
        assertEquals(new InetSocketAddress(InetAddress.getByName("fd00::5"), 443), OriginalDstFilter.parseSockaddr(v6));
    }

    @Test
    void realConnectionNotRedirectedKeepsItsLocalAddress(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("access.log");
        try (ServerSocket echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            TcpProxyTestAccess.echo(echo);
            try (ProxyFixture proxy = Bootstraps.tcp("echo")
                    .listener("l")
                    .statPrefix("t")
                    .listenerFilter("envoy.filters.listener.original_dst",
                            Bootstraps.typed("envoy.extensions.filters.listener.original_dst.v3.OriginalDst", ""))
                    .accessLog(log, "%DOWNSTREAM_LOCAL_ADDRESS%")
                    .cluster("echo", echo.getLocalPort())
                    .start(2)) {
                try (Socket c = new Socket("127.0.0.1", proxy.port())) {
                    c.setSoTimeout(10_000);
                    c.getOutputStream().write("x".getBytes(StandardCharsets.US_ASCII));
                    assertEquals('x', c.getInputStream().read());
                }
                List<String> lines = AccessLogFiles.awaitLines(log, 1);
                assertEquals(List.of("127.0.0.1:" + proxy.port()), lines);
            }
        }
    }
}
