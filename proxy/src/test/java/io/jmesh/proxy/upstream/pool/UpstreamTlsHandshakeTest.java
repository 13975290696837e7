package io.jmesh.proxy.upstream.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.internal.Transports;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.testing.TestCertificates;
import io.jmesh.proxy.upstream.ClusterManager;
import io.jmesh.proxy.upstream.UpstreamCluster;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;

/**
 * A TLS upstream connection records its handshake in the channel's {@link ConnectionInfo}: TLS version, the
 * peer's certificate and SPIFFE principal.
 */
class UpstreamTlsHandshakeTest {

    @TempDir
    Path dir;

    @Test
    void upstreamHandshakeFillsConnectionInfo() throws Exception {
        TestCertificates ca = TestCertificates.create(dir);
        TestCertificates.Issued server = ca.issue("server", "spiffe://cluster.local/ns/default/sa/server");
        EventLoopGroup group = Transports.newGroup(1, "upstream-tls-test");
        SslContext serverCtx = SslContextBuilder.forServer(server.certificateChain().toFile(),
                server.privateKey().toFile()).build();
        Channel listener = new ServerBootstrap().group(group).channel(Transports.serverChannel(group))
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(serverCtx.newHandler(ch.alloc()), new ChannelInboundHandlerAdapter());
                    }
                }).bind("127.0.0.1", 0).sync().channel();
        int port = ((InetSocketAddress) listener.localAddress()).getPort();
        ClusterManager cm = ClusterManager.create(List.of(EnvoyTypes.PARSER.parse("""
                name: tls
                type: STATIC
                load_assignment:
                  cluster_name: tls
                  endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: %d}}}}]}]
                transport_socket:
                  name: envoy.transport_sockets.tls
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
                    sni: localhost
                    common_tls_context:
                      validation_context:
                        trusted_ca: {filename: "%s"}
                        match_typed_subject_alt_names: [{san_type: URI, matcher: {exact: "spiffe://cluster.local/ns/default/sa/server"}}]
                """.formatted(port, ca.caCertificate()), Cluster.newBuilder()).build()), group, new Stats());
        try {
            UpstreamCluster c = cm.get("tls");
            ChannelFuture f = UpstreamConnector.connect(group.next(), c, c.chooseHost(null), p -> { });
            Channel ch = f.sync().channel();
            CompletableFuture<Void> done = new CompletableFuture<>();
            ch.pipeline().get(SslHandler.class).handshakeFuture().addListener(h -> {
                // the connector's own listener was added first and has run
                done.complete(null);
            });
            done.get(10, TimeUnit.SECONDS);
            ConnectionInfo info = ConnectionInfo.of(ch);
            assertTrue(info.secure(), info.toString());
            assertEquals("cluster.local/ns/default/sa/server", info.peerPrincipal());
            assertEquals(server.certificate(), info.peerCertificates().get(0));
            ch.close().sync();
        } finally {
            cm.close();
            listener.close().sync();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
