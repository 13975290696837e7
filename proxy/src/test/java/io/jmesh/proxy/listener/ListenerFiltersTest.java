package io.jmesh.proxy.listener;

import static io.jmesh.proxy.listener.FilterChainMatchTest.httpChain;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.network.tcp.TcpProxyTestAccess;
import io.jmesh.proxy.testing.AccessLogFiles;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.testing.TestCertificates;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;

/**
 * Listener filters end to end with real clients: tls_inspector (SNI, then transport protocol, then ALPN pick the
 * chain in Envoy's order; curl over TLS),
 * http_inspector (HTTP/1.1, h2c and non-HTTP bytes on one plaintext port), proxy_protocol (curl's v1 header,
 * Netty's v2 encoder; the addresses it carries reach chain matching and the access log) and
 * {@code listener_filters_timeout} with and without {@code continue_on_listener_filters_timeout}.
 */
class ListenerFiltersTest {

    static final String TLS_INSPECTOR_TYPE = "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector";
    static final String HTTP_INSPECTOR_TYPE = "envoy.extensions.filters.listener.http_inspector.v3.HttpInspector";
    static final String PROXY_PROTOCOL_TYPE = "envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol";

    /** A listener {@code l} with one listener filter and no chain yet. */
    static Bootstraps listener(String filter, String type, String fields) {
        return Bootstraps.multiChain("l").listenerFilter(filter, Bootstraps.typed(type, fields));
    }

    /** A tcp_proxy chain to {@code cluster}, logging remote and local (original) addresses to {@code log} unless null. */
    static Bootstraps tcpChain(String cluster, int port, Path log) {
        Bootstraps chain = Bootstraps.tcp(cluster).statPrefix(cluster).cluster(cluster, port);
        return log == null ? chain
                : chain.accessLog(log, cluster + " %DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS%");
    }

    static ServerSocket echoServer() throws Exception {
        ServerSocket ss = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        TcpProxyTestAccess.echo(ss);
        return ss;
    }

    @Test
    void tlsInspectorChoosesBySniThenAlpn(@TempDir Path dir) throws Exception {
        TestCertificates ca = TestCertificates.create(dir);
        TestCertificates.Issued wild = ca.issue("wild", null, List.of("*.mesh.example"));
        try (TestBackend bs = TestBackend.start("by-sni");
             TestBackend ba = TestBackend.start("by-alpn-h2");
             TestBackend bo = TestBackend.start("other-tls")) {
            Bootstraps config = listener("envoy.filters.listener.tls_inspector", TLS_INSPECTOR_TYPE, "")
                    .filterChain("{ server_names: [a.mesh.example] }", httpChain("sni", bs.port(), wild))
                    .filterChain("{ transport_protocol: tls, application_protocols: [h2] }", httpChain("alpn", ba.port(), wild))
                    .filterChain("{ transport_protocol: tls }", httpChain("other", bo.port(), wild));
            try (ProxyFixture proxy = config.start(2)) {
                int port = proxy.port();
                String caFile = ca.caCertificate().toString();
                Curl.Result sni = Curl.run("--http2", "--resolve", "a.mesh.example:" + port + ":127.0.0.1",
                        "--cacert", caFile, "https://a.mesh.example:" + port + "/");
                assertTrue(sni.body.contains("backend=by-sni"), sni.toString());
                Curl.Result h2 = Curl.run("--http2", "--resolve", "b.mesh.example:" + port + ":127.0.0.1",
                        "--cacert", caFile, "https://b.mesh.example:" + port + "/");
                assertTrue(h2.body.contains("backend=by-alpn-h2"), h2.toString());
                assertEquals("HTTP/2", h2.httpVersion);
                Curl.Result h1 = Curl.run("--http1.1", "--resolve", "b.mesh.example:" + port + ":127.0.0.1",
                        "--cacert", caFile, "https://b.mesh.example:" + port + "/");
                assertTrue(h1.body.contains("backend=other-tls"), h1.toString());
                assertEquals(3, proxy.counter("tls_inspector.tls_found"));
                assertEquals(3, proxy.counter("tls_inspector.sni_found"));
                assertEquals(3, proxy.counter("tls_inspector.alpn_found"));
                assertEquals(0, proxy.counter("tls_inspector.tls_not_found"));
            }
        }
    }

    @Test
    void httpInspectorTellsHttp11H2cAndOtherBytesApart() throws Exception {
        try (TestBackend b1 = TestBackend.start("h1");
             TestBackend b2 = TestBackend.start("h2c");
             ServerSocket echo = echoServer()) {
            Bootstraps config = listener("envoy.filters.listener.http_inspector", HTTP_INSPECTOR_TYPE, "")
                    .filterChain("{ application_protocols: [http/1.1, http/1.0] }", httpChain("h1", b1.port(), null))
                    .filterChain("{ application_protocols: [h2c] }", httpChain("h2c", b2.port(), null))
                    .defaultFilterChain(tcpChain("echo", echo.getLocalPort(), null));
            try (ProxyFixture proxy = config.start(2)) {
                Curl.Result h1 = Curl.run("--http1.1", proxy.url("/a"));
                assertTrue(h1.body.contains("backend=h1"), h1.toString());
                Curl.Result h10 = Curl.run("--http1.0", proxy.url("/a"));
                assertTrue(h10.body.contains("backend=h1"), h10.toString());
                Curl.Result h2c = Curl.run("--http2-prior-knowledge", proxy.url("/b"));
                assertTrue(h2c.body.contains("backend=h2c"), h2c.toString());
                assertEquals("HTTP/2", h2c.httpVersion);
                try (Socket c = new Socket("127.0.0.1", proxy.port())) {
                    c.setSoTimeout(10_000);
                    c.getOutputStream().write("\u0001not http\r\n".getBytes(StandardCharsets.ISO_8859_1));
                    assertEquals("\u0001not http\r\n", new String(c.getInputStream().readNBytes(11),
                            StandardCharsets.ISO_8859_1));
                }
                assertEquals(1, proxy.counter("http_inspector.http11_found"));
                assertEquals(1, proxy.counter("http_inspector.http10_found"));
                assertEquals(1, proxy.counter("http_inspector.http2_found"));
                assertEquals(1, proxy.counter("http_inspector.http_not_found"));
            }
        }
    }

    @Test
    void proxyProtocolV1FromCurl() throws Exception {
        try (TestBackend b = TestBackend.start("behind-lb")) {
            Bootstraps config = listener("envoy.filters.listener.proxy_protocol", PROXY_PROTOCOL_TYPE, "")
                    .filterChain("{}", httpChain("b", b.port(), null));
            try (ProxyFixture proxy = config.start(2)) {
                Curl.Result withHeader = Curl.run("--haproxy-protocol", proxy.url("/pp"));
                assertEquals(200, withHeader.status, withHeader.toString());
                assertTrue(withHeader.body.contains("backend=behind-lb"), withHeader.toString());
                Curl.Result without = Curl.run(proxy.url("/no-pp"));
                assertNotEquals(0, without.exitCode, "closed without a PROXY header: " + without);
                assertEquals(1, b.requests.get());
            }
        }
    }

    @Test
    void proxyProtocolV2AddressesReachChainMatchingAndTheAccessLog(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("access.log");
        NioEventLoopGroup group = new NioEventLoopGroup(1);
        try (ServerSocket e1 = echoServer(); ServerSocket e2 = echoServer()) {
            Bootstraps config = listener("envoy.filters.listener.proxy_protocol", PROXY_PROTOCOL_TYPE,
                    "allow_requests_without_proxy_protocol: true")
                    .filterChain("{ destination_port: 9080 }", tcpChain("app", e1.getLocalPort(), log))
                    .defaultFilterChain(tcpChain("other", e2.getLocalPort(), log));
            try (ProxyFixture proxy = config.start(2)) {
                java.util.concurrent.BlockingQueue<String> got = new java.util.concurrent.LinkedBlockingQueue<>();
                Channel ch = new Bootstrap().group(group).channel(NioSocketChannel.class)
                        .handler(new ChannelInitializer<Channel>() {
                            @Override
                            protected void initChannel(Channel c) {
                                c.pipeline().addLast(HAProxyMessageEncoder.INSTANCE);
                                c.pipeline().addLast(new io.netty.channel.SimpleChannelInboundHandler<io.netty.buffer.ByteBuf>() {
                                    @Override
                                    protected void channelRead0(io.netty.channel.ChannelHandlerContext ctx,
                                                                io.netty.buffer.ByteBuf msg) {
                                        got.add(msg.toString(StandardCharsets.US_ASCII));
                                    }
                                });
                            }
                        })
                        .connect(new InetSocketAddress("127.0.0.1", proxy.port())).sync().channel();
                ch.writeAndFlush(new HAProxyMessage(HAProxyProtocolVersion.V2, HAProxyCommand.PROXY,
                        HAProxyProxiedProtocol.TCP4, "10.1.2.3", "10.9.9.9", 43210, 9080)).sync();
                ch.writeAndFlush(Unpooled.copiedBuffer("ping", StandardCharsets.US_ASCII)).sync();
                StringBuilder echoed = new StringBuilder();
                while (echoed.length() < 4) {
                    String s = got.poll(10, java.util.concurrent.TimeUnit.SECONDS);
                    assertTrue(s != null, "echo within 10 s");
                    echoed.append(s);
                }
                assertEquals("ping", echoed.toString(), "the header was consumed; the bytes after it reached app");
                ch.close().sync();
                // Without a header (allowed here): the socket's own addresses, the default chain.
                try (Socket c = new Socket("127.0.0.1", proxy.port())) {
                    c.setSoTimeout(10_000);
                    c.getOutputStream().write("pong".getBytes(StandardCharsets.US_ASCII));
                    assertEquals("pong", new String(c.getInputStream().readNBytes(4), StandardCharsets.US_ASCII));
                }
                List<String> lines = AccessLogFiles.awaitLines(log, 2);
                assertEquals(2, lines.size(), lines.toString());
                assertTrue(lines.contains("app 10.1.2.3:43210 10.9.9.9:9080"), lines.toString());
                assertTrue(lines.stream().anyMatch(l -> l.startsWith("other 127.0.0.1:")
                        && l.endsWith(" 127.0.0.1:" + proxy.port())), lines.toString());
            }
        } finally {
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void listenerFiltersTimeoutClosesOrContinues() throws Exception {
        try (ServerSocket echo = echoServer()) {
            for (boolean cont : new boolean[] {false, true}) {
                Bootstraps config = listener("envoy.filters.listener.http_inspector", HTTP_INSPECTOR_TYPE, "")
                        .listenerOption("listener_filters_timeout", "0.2s")
                        .listenerOption("continue_on_listener_filters_timeout", String.valueOf(cont))
                        .filterChain("{ application_protocols: [http/1.1] }", httpChain("echo", echo.getLocalPort(), null))
                        .defaultFilterChain(tcpChain("echo", echo.getLocalPort(), null));
                try (ProxyFixture proxy = config.start(2);
                     Socket c = new Socket("127.0.0.1", proxy.port())) {
                    c.setSoTimeout(10_000);
                    String timeouts = "listener.127.0.0.1_0.downstream_pre_cx_timeout"; // named as configured
                    if (!cont) {
                        assertEquals(-1, c.getInputStream().read(), "closed when the filters time out");
                        assertEquals(1, proxy.counter(timeouts));
                        continue;
                    }
                    Poll.until(() -> proxy.counter(timeouts) == 1, "the listener filters time out");
                    c.getOutputStream().write("late".getBytes(StandardCharsets.US_ASCII));
                    assertEquals("late", new String(c.getInputStream().readNBytes(4), StandardCharsets.US_ASCII),
                            "handed to the default chain on timeout");
                }
            }
        }
    }
}
