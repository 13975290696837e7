package io.jmesh.proxy.network;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.google.protobuf.Any;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.extension.ExtensionRegistry;
import io.jmesh.proxy.network.tcp.TcpProxyFilterFactory;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;

/**
 * A chain of several network filters before tcp_proxy, the test filters coming from the registry through
 * {@code META-INF/services} as a user jar's would: bytes are counted both ways, a pattern closes the connection
 * before tcp_proxy sees it, a held connection reaches tcp_proxy only on {@code continueReading}; and the config
 * errors of unknown and misplaced filters.
 */
class NetworkFilterChainTest {

    /** A TCP proxy to {@code echo} at port behind a byte counter and a DENY pattern filter (holding if asked). */
    static Bootstraps config(int port, boolean hold) {
        return Bootstraps.tcp("echo")
                .networkFilter("test.filters.network.byte_counter",
                        Bootstraps.typedStruct("test.jmesh.ByteCounter", "{ stat_prefix: counted }"))
                .networkFilter("test.filters.network.deny_pattern",
                        Bootstraps.typedStruct("test.jmesh.DenyPattern", "{ pattern: DENY, hold: " + hold + " }"))
                .cluster("echo", port);
    }

    private ServerSocket echo;

    @AfterEach
    void tearDown() throws Exception {
        TestNetworkFilters.releaseHeld();
        if (echo != null) {
            echo.close();
        }
    }

    private ProxyFixture start(boolean hold) throws Exception {
        echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        io.jmesh.proxy.network.tcp.TcpProxyTestAccess.echo(echo);
        return config(echo.getLocalPort(), hold).start(2);
    }

    private static String read(InputStream in, int n) throws Exception {
        return new String(in.readNBytes(n), StandardCharsets.US_ASCII);
    }

    @Test
    void filtersSeeBytesBothWaysThenTcpProxyRelays() throws Exception {
        try (ProxyFixture proxy = start(false); Socket c = new Socket("127.0.0.1", proxy.port())) {
            c.setSoTimeout(10_000);
            c.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
            assertEquals("hello", read(c.getInputStream(), 5));
            c.getOutputStream().write(" world".getBytes(StandardCharsets.US_ASCII));
            assertEquals(" world", read(c.getInputStream(), 6));
            assertEquals(1, proxy.counter("test.counted.cx"));
            assertEquals(11, proxy.counter("test.counted.rx_bytes"));
            Poll.until(() -> proxy.counter("test.counted.tx_bytes") == 11, "11 bytes written back seen by the filter");
            assertEquals(11, proxy.counter("tcp.tcp.downstream_cx_rx_bytes_total"));
        }
    }

    @Test
    void aFilterClosingOnAPatternStopsTheBytesBeforeTcpProxy() throws Exception {
        try (ProxyFixture proxy = start(false); Socket c = new Socket("127.0.0.1", proxy.port())) {
            c.setSoTimeout(10_000);
            c.getOutputStream().write("ok".getBytes(StandardCharsets.US_ASCII));
            assertEquals("ok", read(c.getInputStream(), 2));
            c.getOutputStream().write("xxDENYxx".getBytes(StandardCharsets.US_ASCII));
            assertEquals(-1, c.getInputStream().read(), "closed by the filter");
            assertEquals(1, proxy.counter("test.deny.denied"));
            assertEquals(10, proxy.counter("test.counted.rx_bytes"), "the counter, before it, saw the bytes");
            assertEquals(2, proxy.counter("tcp.tcp.downstream_cx_rx_bytes_total"), "tcp_proxy never saw them");
        }
    }

    @Test
    void aHeldConnectionReachesTcpProxyOnContinueReading() throws Exception {
        try (ProxyFixture proxy = start(true); Socket c = new Socket("127.0.0.1", proxy.port())) {
            c.setSoTimeout(10_000);
            c.getOutputStream().write("early".getBytes(StandardCharsets.US_ASCII));
            Poll.until(() -> TestNetworkFilters.HELD.size() == 1, "the connection held by the filter");
            assertEquals(1, proxy.counter("test.counted.cx"), "filters before the holding one ran");
            assertEquals(0, proxy.counter("tcp.tcp.downstream_cx_total"), "tcp_proxy has not seen the connection");
            TestNetworkFilters.releaseHeld();
            assertEquals("early", read(c.getInputStream(), 5));
            c.getOutputStream().write("late".getBytes(StandardCharsets.US_ASCII));
            assertEquals("late", read(c.getInputStream(), 4));
            assertEquals(1, proxy.counter("tcp.tcp.downstream_cx_total"));
            assertEquals(9, proxy.counter("tcp.tcp.downstream_cx_rx_bytes_total"));
        }
    }

    @Test
    void filtersReadTheConnectionInfoOfAMutualTlsConnection(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        io.jmesh.proxy.testing.TestCertificates ca = io.jmesh.proxy.testing.TestCertificates.create(dir);
        io.jmesh.proxy.testing.TestCertificates.Issued server = ca.issue("server", null, java.util.List.of("echo.mesh.example"));
        io.jmesh.proxy.testing.TestCertificates.Issued client = ca.issue("client",
                "spiffe://cluster.local/ns/default/sa/sleep");
        echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        io.jmesh.proxy.network.tcp.TcpProxyTestAccess.echo(echo);
        java.security.KeyStore keys = java.security.KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("client", client.key(), new char[0], new java.security.cert.Certificate[] {client.certificate()});
        javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(
                javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, new char[0]);
        java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", ca.caX509());
        javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(
                javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        javax.net.ssl.SSLContext tls = javax.net.ssl.SSLContext.getInstance("TLS");
        tls.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        TestNetworkFilters.PEERS.clear();
        try (ProxyFixture proxy = Bootstraps.tcp("echo")
                .listener("mtls")
                .downstreamTlsContext("require_client_certificate: true, common_tls_context: { tls_certificates: [{"
                        + " certificate_chain: { filename: \"" + server.certificateChain() + "\" }, private_key: { filename: \""
                        + server.privateKey() + "\" } }], validation_context: { trusted_ca: { filename: \""
                        + ca.caCertificate() + "\" } } }")
                .networkFilter("test.filters.network.peer_recorder", null)
                .cluster("echo", echo.getLocalPort())
                .start(2);
             javax.net.ssl.SSLSocket c = (javax.net.ssl.SSLSocket) tls.getSocketFactory().createSocket()) {
            javax.net.ssl.SSLParameters p = c.getSSLParameters();
            p.setServerNames(java.util.List.of(new javax.net.ssl.SNIHostName("echo.mesh.example")));
            c.setSSLParameters(p);
            c.connect(new java.net.InetSocketAddress("127.0.0.1", proxy.port()), 10_000);
            c.setSoTimeout(10_000);
            c.getOutputStream().write("hi".getBytes(StandardCharsets.US_ASCII));
            assertEquals("hi", read(c.getInputStream(), 2));
            String seen = TestNetworkFilters.PEERS.poll(10, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals("principal=cluster.local/ns/default/sa/sleep sni=echo.mesh.example tls=" + c.getSession()
                    .getProtocol() + " transport=tls certs=1", seen);
        }
    }

    @Test
    void unknownAndMisplacedFiltersAreConfigErrors() throws Exception {
        echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        ConfigException unknown = assertThrows(ConfigException.class, () -> Bootstraps.tcp("echo")
                .networkFilter("test.filters.network.nope", Bootstraps.typedStruct("test.jmesh.Nope", "{ stat_prefix: counted }"))
                .cluster("echo", echo.getLocalPort())
                .start(2));
        assertTrue(unknown.getMessage().startsWith("static_resources.listeners[0].filter_chains[0].filters[0].name:"
                + " test.filters.network.nope (type.googleapis.com/test.jmesh.Nope) (expected: a network_filter of ["),
                unknown.getMessage());
        ConfigException notLast = assertThrows(ConfigException.class, () -> Bootstraps.tcp("echo")
                .networkFilter(TcpProxyFilterFactory.NAME, Bootstraps.typed(
                        "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", "stat_prefix: a, cluster: echo"))
                .networkFilter("test.filters.network.byte_counter",
                        Bootstraps.typedStruct("test.jmesh.ByteCounter", "{ stat_prefix: counted }"))
                .cluster("echo", echo.getLocalPort())
                .start(2));
        assertEquals("static_resources.listeners[0].filter_chains[0].filters[0].name: envoy.filters.network.tcp_proxy"
                + " (expected: the terminal filter to be the last one)", notLast.getMessage());
    }

    @Test
    void registryIsInjectedAndFindsByTypedStructTypeUrl() throws Exception {
        ExtensionRegistry onlyBuiltins = ExtensionRegistry.builder().addBuiltins()
                .add(new TcpProxyFilterFactory()).build();
        Any counter = Any.pack(com.github.xds.type.v3.TypedStruct.newBuilder()
                .setTypeUrl("type.googleapis.com/test.jmesh.ByteCounter").build());
        assertNull(onlyBuiltins.find(NetworkFilterFactory.KIND, "whatever", counter));
        assertNotNull(ExtensionRegistry.loadDefault().find(NetworkFilterFactory.KIND, "whatever", counter),
                "found by the TypedStruct's type_url in the default registry (META-INF/services)");
        echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        ConfigException e = assertThrows(ConfigException.class,
                () -> config(echo.getLocalPort(), false).start(1, onlyBuiltins));
        assertTrue(e.getMessage().contains("filters[0].name: test.filters.network.byte_counter"), e.getMessage());
        assertTrue(e.getMessage().endsWith("(expected: a network_filter of [envoy.filters.network.tcp_proxy])"),
                e.getMessage());
    }
}
