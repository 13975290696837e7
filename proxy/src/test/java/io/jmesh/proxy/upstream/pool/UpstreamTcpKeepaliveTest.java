package io.jmesh.proxy.upstream.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.internal.Transports;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.upstream.ClusterManager;
import io.jmesh.proxy.upstream.UpstreamCluster;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.util.concurrent.DefaultThreadFactory;
import jdk.net.ExtendedSocketOptions;

/**
 * {@code upstream_connection_options.tcp_keepalive} (Istio's {@code connectionPool.tcp.tcpKeepalive}) sets
 * {@code SO_KEEPALIVE}, {@code TCP_KEEPCNT}, {@code TCP_KEEPIDLE} and {@code TCP_KEEPINTVL} on the upstream socket,
 * read back from the connected channel, on the epoll and the NIO transport.
 */
class UpstreamTcpKeepaliveTest {

    private static Cluster cluster(int port, String keepalive) throws Exception {
        return EnvoyTypes.PARSER.parse("""
                name: ka
                type: STATIC
                load_assignment:
                  cluster_name: ka
                  endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: %d}}}}]}]
                %s
                """.formatted(port, keepalive), Cluster.newBuilder()).build();
    }

    /** Connects through the cluster to a real listener and hands back the connected upstream channel. */
    private static Channel connect(EventLoopGroup group, ClusterManager cm) throws Exception {
        UpstreamCluster c = cm.get("ka");
        return UpstreamConnector.connect(group.next(), c, c.chooseHost(null), p -> { }).sync().channel();
    }

    private static Channel listen(EventLoopGroup group) throws Exception {
        return new ServerBootstrap().group(group).channel(Transports.serverChannel(group))
                .childHandler(new ChannelInboundHandlerAdapter()).bind("127.0.0.1", 0).sync().channel();
    }

    @Test
    void keepaliveOptionsAreSetOnTheUpstreamSocket() throws Exception {
        assumeTrue(Epoll.isAvailable(), "the epoll transport (Linux)");
        EventLoopGroup group = new EpollEventLoopGroup(1, new DefaultThreadFactory("tcp-keepalive-epoll", true));
        Channel listener = listen(group);
        int port = ((InetSocketAddress) listener.localAddress()).getPort();
        ClusterManager cm = ClusterManager.create(List.of(cluster(port, """
                upstream_connection_options: {tcp_keepalive: {keepalive_probes: 3, keepalive_time: 600, keepalive_interval: 20}}
                """)), group, new Stats());
        try {
            Channel ch = connect(group, cm);
            assertEquals(EpollSocketChannel.class, ch.getClass());
            assertEquals(true, ch.config().getOption(ChannelOption.SO_KEEPALIVE));
            assertEquals(3, ch.config().getOption(EpollChannelOption.TCP_KEEPCNT));
            assertEquals(600, ch.config().getOption(EpollChannelOption.TCP_KEEPIDLE));
            assertEquals(20, ch.config().getOption(EpollChannelOption.TCP_KEEPINTVL));
            ch.close().sync();
        } finally {
            cm.close();
            listener.close().sync();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void nioTransportSetsTheSameOptionsAndUnsetFieldsKeepTheSystemDefault() throws Exception {
        EventLoopGroup group = new NioEventLoopGroup(1, new DefaultThreadFactory("tcp-keepalive-nio", true));
        Channel listener = listen(group);
        int port = ((InetSocketAddress) listener.localAddress()).getPort();
        ClusterManager cm = ClusterManager.create(List.of(cluster(port, """
                upstream_connection_options: {tcp_keepalive: {keepalive_time: 45}}
                """)), group, new Stats());
        try {
            Channel ch = connect(group, cm);
            assertEquals(true, ch.config().getOption(ChannelOption.SO_KEEPALIVE));
            assertEquals(45, ch.config().getOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE)));
            int systemProbes = Integer.parseInt(
                    Files.readString(Path.of("/proc/sys/net/ipv4/tcp_keepalive_probes")).trim());
            assertEquals(systemProbes, ch.config().getOption(NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT)));
            ch.close().sync();
        } finally {
            cm.close();
            listener.close().sync();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void withoutTcpKeepaliveTheSocketHasNoKeepalive() throws Exception {
        EventLoopGroup group = Transports.newGroup(1, "tcp-keepalive-none");
        Channel listener = listen(group);
        int port = ((InetSocketAddress) listener.localAddress()).getPort();
        ClusterManager cm = ClusterManager.create(List.of(cluster(port, "")), group, new Stats());
        try {
            Channel ch = connect(group, cm);
            assertEquals(false, ch.config().getOption(ChannelOption.SO_KEEPALIVE));
            ch.close().sync();
        } finally {
            cm.close();
            listener.close().sync();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void zeroIsRefusedByName() throws Exception {
        Cluster bad = cluster(1, "upstream_connection_options: {tcp_keepalive: {keepalive_interval: 0}}");
        ConfigException e = assertThrows(ConfigException.class, () -> ClusterManager.create(List.of(bad), null,
                new Stats()));
        assertEquals(true, e.getMessage().contains(
                "upstream_connection_options.tcp_keepalive.keepalive_interval: 0 (expected: 1..32767)"), e.getMessage());
    }
}
