package io.jmesh.proxy.upstream.pool;

import java.net.ConnectException;
import java.net.InetSocketAddress;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.proxy.internal.Transports;
import io.jmesh.proxy.upstream.Host;
import io.jmesh.proxy.upstream.UpstreamCluster;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.unix.IntegerUnixChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.channel.ChannelPromise;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.tls.ClientTlsProvider;
import javax.net.ssl.SSLException;
import io.netty.handler.ssl.SslHandler;

/** Opens TCP (and TLS, per the cluster's transport socket) connections to an upstream host from a given event loop. */
public final class UpstreamConnector {

    private static final Logger logger = LoggerFactory.getLogger(UpstreamConnector.class);

    /** {@code SO_MARK} (Linux {@code SOL_SOCKET}, 36), set on a transparent upstream socket with a mark. */
    private static final IntegerUnixChannelOption SO_MARK = new IntegerUnixChannelOption("SO_MARK", 1, 36);

    private static volatile boolean warnedNoEpoll;

    private UpstreamConnector() {}

    public interface PipelineSetup {
        void configure(ChannelPipeline pipeline);
    }

    /**
     * Connects to {@code host}. A TLS cluster whose secret has not arrived yet gets no connection: the future
     * fails with an {@link SSLException} (Envoy sends nothing to a cluster without its secret; the cluster warms
     * first, and after the initial fetch timeout requests fail here, as upstream connection failures).
     */
    public static ChannelFuture connect(EventLoop loop, UpstreamCluster cluster, Host host, PipelineSetup setup) {
        return connect(loop, cluster, host, setup, null, 0);
    }

    /**
     * As {@link #connect(EventLoop, UpstreamCluster, Host, PipelineSetup)}, from {@code source} when not null
     * ({@code original_src}: an address not of this host, bound with {@code IP_TRANSPARENT}, and {@code SO_MARK}
     * {@code mark} when not 0) unless the cluster has an {@code upstream_bind_config} (Istio's inbound passthrough
     * from {@code 127.0.0.6}, which a transparent source would send through the capture rules again). Needs
     * {@code CAP_NET_ADMIN} (else the connection fails) and the epoll transport (else the source is ignored, warned
     * once).
     */
    public static ChannelFuture connect(EventLoop loop, UpstreamCluster cluster, Host host, PipelineSetup setup,
                                        InetSocketAddress source, int mark) {
        ClientTlsProvider provider = cluster.tls(host);
        if (provider != null && provider.current() == null) {
            ChannelFuture reg = new Bootstrap().group(loop).channel(Transports.socketChannel(loop.parent()))
                    .handler(new ChannelInboundHandlerAdapter()).register();
            ChannelPromise failed = reg.channel().newPromise();
            reg.addListener(f -> {
                reg.channel().close();
                failed.setFailure(new SSLException("cluster " + cluster.name() + ": TLS secret not yet available"));
            });
            return failed;
        }
        Bootstrap b = new Bootstrap()
                .group(loop)
                .channel(Transports.socketChannel(loop.parent()))
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, cluster.connectTimeoutMillis()))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        cluster.transportSocket(host).initChannel(ch);
                        ClientTlsProvider tls = cluster.tls(host);
                        if (tls != null) {
                            SslHandler h = tls.newHandler(ch.alloc(), host.address().getHostString(),
                                                          host.address().getPort());
                            if (h == null) {
                                throw new IllegalStateException("cluster " + cluster.name() + ": TLS secret lost");
                            }
                            h.handshakeFuture().addListener(f -> {
                                if (f.isSuccess()) {
                                    ConnectionInfo.of(ch).onHandshake(h.engine().getSession(), h.applicationProtocol());
                                }
                            });
                            ch.pipeline().addLast("ssl", h);
                            ch.pipeline().addLast("ssl-stats", cluster.tlsStats().newUpstreamHandler());
                        }
                        setup.configure(ch.pipeline());
                    }
                });
        keepalive(b, cluster.tcpKeepalive(), Transports.socketChannel(loop.parent()) == EpollSocketChannel.class);
        cluster.stats().upstreamCxTotal().inc();
        host.stats().incCxTotal();
        // The cluster's own source (InboundPassthroughCluster's 127.0.0.6) wins over original_src.
        InetSocketAddress local = cluster.bindAddress();
        if (local == null && source != null) {
            if (Transports.socketChannel(loop.parent()) == EpollSocketChannel.class) {
                b.option(EpollChannelOption.IP_TRANSPARENT, true);
                if (mark != 0) {
                    b.option(SO_MARK, mark);
                }
                local = source;
            } else if (!warnedNoEpoll) {
                warnedNoEpoll = true;
                logger.warn("original_src needs the epoll transport: upstream connections keep the cluster's source");
            }
        }
        return local == null ? b.connect(host.address()) : b.connect(host.address(), local);
    }

    /**
     * {@code upstream_connection_options.tcp_keepalive}: {@code SO_KEEPALIVE} and, where set, the probe count, idle
     * time and interval ({@code EpollChannelOption} on epoll, {@code jdk.net.ExtendedSocketOptions} on NIO).
     */
    private static void keepalive(Bootstrap b, UpstreamCluster.TcpKeepalive k, boolean epoll) {
        if (k == null) {
            return;
        }
        b.option(ChannelOption.SO_KEEPALIVE, true);
        if (k.probes() > 0) {
            b.option(epoll ? EpollChannelOption.TCP_KEEPCNT
                    : NioChannelOption.of(jdk.net.ExtendedSocketOptions.TCP_KEEPCOUNT), k.probes());
        }
        if (k.time() > 0) {
            b.option(epoll ? EpollChannelOption.TCP_KEEPIDLE
                    : NioChannelOption.of(jdk.net.ExtendedSocketOptions.TCP_KEEPIDLE), k.time());
        }
        if (k.interval() > 0) {
            b.option(epoll ? EpollChannelOption.TCP_KEEPINTVL
                    : NioChannelOption.of(jdk.net.ExtendedSocketOptions.TCP_KEEPINTERVAL), k.interval());
        }
    }

    public static ResetReason failureReason(Throwable cause) {
        return cause instanceof ConnectTimeoutException ? ResetReason.CONNECT_TIMEOUT : ResetReason.CONNECTION_FAILURE;
    }

    public static String describe(Throwable cause) {
        if (cause instanceof ConnectException) {
            return "delayed connect error: 111";
        }
        return cause == null ? "" : String.valueOf(cause.getMessage());
    }
}
