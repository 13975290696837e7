package io.jmesh.proxy.upstream.pool;

import java.net.ConnectException;

import io.jmesh.proxy.internal.Transports;
import io.jmesh.proxy.upstream.Host;
import io.jmesh.proxy.upstream.UpstreamCluster;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;

/** Opens TCP (and TLS, per the cluster's transport socket) connections to an upstream host from a given event loop. */
public final class UpstreamConnector {

    private UpstreamConnector() {}

    public interface PipelineSetup {
        void configure(ChannelPipeline pipeline);
    }

    public static ChannelFuture connect(EventLoop loop, UpstreamCluster cluster, Host host, PipelineSetup setup) {
        Bootstrap b = new Bootstrap()
                .group(loop)
                .channel(Transports.socketChannel(loop.parent()))
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, cluster.connectTimeoutMillis()))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        SslContext ssl = cluster.sslContext();
                        if (ssl != null) {
                            String sni = cluster.sni();
                            String peer = sni != null && !sni.isEmpty() ? sni : host.address().getHostString();
                            SslHandler h = ssl.newHandler(ch.alloc(), peer, host.address().getPort());
                            ch.pipeline().addLast("ssl", h);
                            ch.pipeline().addLast("ssl-stats", cluster.tlsStats().newUpstreamHandler());
                        }
                        setup.configure(ch.pipeline());
                    }
                });
        cluster.stats().upstreamCxTotal().inc();
        host.stats().incCxTotal();
        return b.connect(host.address());
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
