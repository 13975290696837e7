package io.jmesh.proxy.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLPeerUnverifiedException;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.protobuf.BoolValue;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.testing.TestCertificates;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;

class TlsContextsTest {

    private static EventLoopGroup group;

    @TempDir
    static Path dir;

    private static TestCertificates certs;
    private static TestCertificates.Issued server;
    private static TestCertificates.Issued client;

    @BeforeAll
    static void setUp() {
        group = new NioEventLoopGroup(1);
        certs = TestCertificates.create(dir.resolve("ec"), TestCertificates.KeyType.EC);
        server = certs.issue("server", "spiffe://cluster.local/ns/default/sa/server");
        client = certs.issue("client", "spiffe://cluster.local/ns/default/sa/client");
    }

    @AfterAll
    static void tearDown() {
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static DataSource file(Path p) {
        return DataSource.newBuilder().setFilename(p.toString()).build();
    }

    private static TlsCertificate certificate(TestCertificates.Issued issued) {
        return TlsCertificate.newBuilder().setCertificateChain(file(issued.certificateChain()))
                             .setPrivateKey(file(issued.privateKey())).build();
    }

    private static CertificateValidationContext.Builder trustCa(TestCertificates ca) {
        return CertificateValidationContext.newBuilder().setTrustedCa(file(ca.caCertificate()));
    }

    /** Result of one handshake: each side's outcome and ALPN protocol. */
    private record Handshake(Throwable clientError, Throwable serverError, String clientProtocol,
                             String serverProtocol, X509Certificate peerOfServer) {
    }

    private static Handshake handshake(SslContext serverCtx, SslContext clientCtx) throws Exception {
        CompletableFuture<SslHandler> serverSide = new CompletableFuture<>();
        CompletableFuture<Throwable> serverResult = new CompletableFuture<>();
        Channel listener = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        SslHandler h = serverCtx.newHandler(ch.alloc());
                        ch.pipeline().addLast(h, new QuietHandler());
                        serverSide.complete(h);
                        h.handshakeFuture().addListener(f -> serverResult.complete(f.cause()));
                    }
                }).bind("127.0.0.1", 0).sync().channel();
        int port = ((InetSocketAddress) listener.localAddress()).getPort();
        CompletableFuture<SslHandler> clientSide = new CompletableFuture<>();
        Channel ch = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel c) {
                        SslHandler h = clientCtx.newHandler(c.alloc(), "localhost", port);
                        c.pipeline().addLast(h, new QuietHandler());
                        clientSide.complete(h);
                    }
                }).connect("127.0.0.1", port).sync().channel();
        try {
            SslHandler ch1 = clientSide.get(10, TimeUnit.SECONDS);
            Throwable clientError = ch1.handshakeFuture().await(10, TimeUnit.SECONDS) ? ch1.handshakeFuture().cause()
                                                                                      : new AssertionError("timeout");
            Throwable serverError = serverResult.get(10, TimeUnit.SECONDS);
            SslHandler sh = serverSide.get(10, TimeUnit.SECONDS);
            X509Certificate peer = null;
            if (serverError == null) {
                try {
                    peer = (X509Certificate) sh.engine().getSession().getPeerCertificates()[0];
                } catch (SSLPeerUnverifiedException e) {
                    peer = null;
                }
            }
            return new Handshake(clientError, serverError, clientError == null ? ch1.applicationProtocol() : null,
                                 serverError == null ? sh.applicationProtocol() : null, peer);
        } finally {
            ch.close().sync();
            listener.close().sync();
        }
    }

    /** Handshake failures are asserted through the handshake futures; this keeps them out of the log. */
    private static final class QuietHandler extends io.netty.channel.ChannelInboundHandlerAdapter {
        @Override
        public void exceptionCaught(io.netty.channel.ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private static SslContext downstream(boolean requireClientCert, List<String> alpn) throws ConfigException {
        CommonTlsContext.Builder common = CommonTlsContext.newBuilder().addTlsCertificates(certificate(server))
                                                          .addAllAlpnProtocols(alpn);
        if (requireClientCert) {
            common.setValidationContext(trustCa(certs));
        }
        return TlsContexts.forDownstream(DownstreamTlsContext.newBuilder().setCommonTlsContext(common)
                                                             .setRequireClientCertificate(BoolValue.of(requireClientCert))
                                                             .build());
    }

    @Test
    void negotiatesH2OverVerifiedHandshake() throws Exception {
        SslContext up = TlsContexts.forUpstream(UpstreamTlsContext.newBuilder().setCommonTlsContext(
                CommonTlsContext.newBuilder().setValidationContext(trustCa(certs))).setSni("localhost").build(), true);
        Handshake h = handshake(downstream(false, List.of("h2", "http/1.1")), up);
        assertNull(h.clientError());
        assertNull(h.serverError());
        assertEquals("h2", h.clientProtocol());
        assertEquals("h2", h.serverProtocol());
    }

    @Test
    void negotiatesHttp11WhenClusterIsNotH2WithRsaKeys(@TempDir Path rsaDir) throws Exception {
        TestCertificates rsa = TestCertificates.create(rsaDir, TestCertificates.KeyType.RSA);
        TestCertificates.Issued leaf = rsa.issue("server", null);
        SslContext down = TlsContexts.forDownstream(DownstreamTlsContext.newBuilder().setCommonTlsContext(
                CommonTlsContext.newBuilder().addTlsCertificates(certificate(leaf)).addAlpnProtocols("h2")
                                .addAlpnProtocols("http/1.1")).build());
        SslContext up = TlsContexts.forUpstream(UpstreamTlsContext.newBuilder().setCommonTlsContext(
                CommonTlsContext.newBuilder().setValidationContext(trustCa(rsa))).build(), false);
        Handshake h = handshake(down, up);
        assertNull(h.clientError());
        assertEquals("http/1.1", h.clientProtocol());
        assertEquals("http/1.1", h.serverProtocol());
    }

    @Test
    void untrustedServerIsRejectedWhenTrustedCaIsSet(@TempDir Path other) throws Exception {
        TestCertificates otherCa = TestCertificates.create(other);
        SslContext up = TlsContexts.forUpstream(UpstreamTlsContext.newBuilder().setCommonTlsContext(
                CommonTlsContext.newBuilder().setValidationContext(trustCa(otherCa))).build(), true);
        Handshake h = handshake(downstream(false, List.of("h2")), up);
        assertTrue(h.clientError() != null, "handshake must fail against an unknown CA");
    }

    @Test
    void noTrustedCaMeansNoServerVerificationAsInEnvoy(@TempDir Path other) throws Exception {
        SslContext up = TlsContexts.forUpstream(UpstreamTlsContext.getDefaultInstance(), false);
        Handshake h = handshake(downstream(false, List.of()), up);
        assertNull(h.clientError());
    }

    @Test
    void requireClientCertificateRejectsAnonymousClientAndAcceptsSignedOne() throws Exception {
        SslContext down = downstream(true, List.of("h2"));
        SslContext anonymous = TlsContexts.forUpstream(UpstreamTlsContext.newBuilder().setCommonTlsContext(
                CommonTlsContext.newBuilder().setValidationContext(trustCa(certs))).build(), true);
        Handshake rejected = handshake(down, anonymous);
        assertTrue(rejected.serverError() != null, "server must reject a client without a certificate");

        SslContext withCert = TlsContexts.forUpstream(UpstreamTlsContext.newBuilder().setCommonTlsContext(
                CommonTlsContext.newBuilder().setValidationContext(trustCa(certs))
                                .addTlsCertificates(certificate(client))).build(), true);
        Handshake ok = handshake(down, withCert);
        assertNull(ok.serverError());
        assertEquals(client.certificate(), ok.peerOfServer());
        assertTrue(ok.peerOfServer().getSubjectAlternativeNames().stream()
                     .anyMatch(san -> "spiffe://cluster.local/ns/default/sa/client".equals(san.get(1))));
    }

    private static SslContext upstreamMatchingUri(String uri) throws ConfigException {
        return TlsContexts.forUpstream(UpstreamTlsContext.newBuilder().setCommonTlsContext(
                CommonTlsContext.newBuilder().setValidationContext(trustCa(certs).addMatchTypedSubjectAltNames(
                        SubjectAltNameMatcher.newBuilder().setSanType(SubjectAltNameMatcher.SanType.URI)
                                             .setMatcher(StringMatcher.newBuilder().setExact(uri))))).build(), true);
    }

    @Test
    void subjectAltNameMatchersAreEnforced() throws Exception {
        Handshake ok = handshake(downstream(false, List.of("h2")),
                                 upstreamMatchingUri("spiffe://cluster.local/ns/default/sa/server"));
        assertNull(ok.clientError());
        Handshake bad = handshake(downstream(false, List.of("h2")),
                                  upstreamMatchingUri("spiffe://cluster.local/ns/default/sa/other"));
        assertTrue(bad.clientError() != null, "a server whose SAN does not match must be rejected");
    }

    @Test
    void inlineStringsWork() throws Exception {
        String chain = java.nio.file.Files.readString(server.certificateChain());
        String key = java.nio.file.Files.readString(server.privateKey());
        SslContext down = TlsContexts.forDownstream(DownstreamTlsContext.newBuilder().setCommonTlsContext(
                CommonTlsContext.newBuilder().addTlsCertificates(TlsCertificate.newBuilder()
                        .setCertificateChain(DataSource.newBuilder().setInlineString(chain))
                        .setPrivateKey(DataSource.newBuilder().setInlineString(key)))).build());
        SslContext up = TlsContexts.forUpstream(UpstreamTlsContext.newBuilder().setCommonTlsContext(
                CommonTlsContext.newBuilder().setValidationContext(CertificateValidationContext.newBuilder()
                        .setTrustedCa(DataSource.newBuilder().setInlineString(certs.caPem())))).build(), true);
        assertNull(handshake(down, up).clientError());
    }

    @Test
    void missingFileNamesPathAndFile() {
        ConfigException e = assertThrows(ConfigException.class, () -> TlsContexts.forDownstream(
                DownstreamTlsContext.newBuilder().setCommonTlsContext(CommonTlsContext.newBuilder().addTlsCertificates(
                        TlsCertificate.newBuilder().setCertificateChain(file(Path.of("/nonexistent/cert.pem")))
                                      .setPrivateKey(file(server.privateKey())))).build()));
        assertEquals("common_tls_context.tls_certificates[0].certificate_chain.filename: /nonexistent/cert.pem "
                     + "(expected: a readable file; NoSuchFileException)", e.getMessage());
    }

    @Test
    void invalidConfigurations() {
        ConfigException noCert = assertThrows(ConfigException.class,
                                              () -> TlsContexts.forDownstream(DownstreamTlsContext.getDefaultInstance()));
        assertEquals("common_tls_context.tls_certificates: [] (expected: one certificate and key)", noCert.getMessage());

        ConfigException requireWithoutCa = assertThrows(ConfigException.class, () -> TlsContexts.forDownstream(
                DownstreamTlsContext.newBuilder().setRequireClientCertificate(BoolValue.of(true)).setCommonTlsContext(
                        CommonTlsContext.newBuilder().addTlsCertificates(certificate(server))).build()));
        assertTrue(requireWithoutCa.getMessage().startsWith("common_tls_context.validation_context.trusted_ca: unset"),
                   requireWithoutCa.getMessage());

        ConfigException garbage = assertThrows(ConfigException.class, () -> TlsContexts.forUpstream(
                UpstreamTlsContext.newBuilder().setCommonTlsContext(CommonTlsContext.newBuilder().setValidationContext(
                        CertificateValidationContext.newBuilder().setTrustedCa(
                                DataSource.newBuilder().setInlineString("not a pem")))).build(), false));
        assertTrue(garbage.getMessage().startsWith("common_tls_context.validation_context.trusted_ca: "),
                   garbage.getMessage());
        assertFalse(garbage.getMessage().isEmpty());
    }
}
