package io.jmesh.proxy.listener;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;

import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.internal.Transports;
import io.jmesh.proxy.network.http.DrainEvent;
import io.jmesh.proxy.network.http.HttpConnectionManagerConfig;
import io.jmesh.proxy.network.http.HttpConnectionManagerInitializer;
import io.jmesh.proxy.network.rpc.RpcProxyConfig;
import io.jmesh.proxy.network.tcp.TcpProxyConfig;
import io.jmesh.proxy.network.tcp.TcpProxyHandler;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.Gauge;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.tls.TlsContexts;
import io.jmesh.proxy.upstream.ClusterManager;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.GlobalEventExecutor;

/**
 * One Envoy listener: a bound socket and its filter chain (TLS termination, then the HTTP connection
 * manager or tcp_proxy). Built and validated off the event loop; immutable once built.
 *
 * <p>Supported: {@code address.socket_address}, one filter chain (or several that differ only by
 * {@code filter_chain_match.server_names}, chosen by SNI — not yet: see the closing note), with
 * {@code transport_socket} {@code envoy.transport_sockets.tls} and one terminal network filter.
 */
public final class ProxyListener {

    private static final Logger logger = LoggerFactory.getLogger(ProxyListener.class);

    private final Listener config;
    private final InetSocketAddress address;
    private final SslContext sslContext;
    private final HttpConnectionManagerInitializer http;
    private final TcpProxyConfig tcp;
    private final RpcProxyConfig rpc;
    private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final Counter cxTotal;
    private final Gauge cxActive;
    private Channel serverChannel;

    private ProxyListener(Listener config, InetSocketAddress address, SslContext ssl,
                          HttpConnectionManagerInitializer http, TcpProxyConfig tcp, RpcProxyConfig rpc, Stats stats) {
        this.config = config;
        this.address = address;
        this.sslContext = ssl;
        this.http = http;
        this.tcp = tcp;
        this.rpc = rpc;
        String prefix = "listener." + address.getAddress().getHostAddress() + "_" + address.getPort() + ".";
        this.cxTotal = stats.counter(prefix + "downstream_cx_total");
        this.cxActive = stats.gauge(prefix + "downstream_cx_active");
    }

    /** Validates a listener; {@code path} names it in errors, e.g. {@code static_resources.listeners[0]}. */
    public static ProxyListener create(Listener l, Supplier<ClusterManager> clusters, Stats stats, String path)
            throws ConfigException {
        if (!l.hasAddress() || !l.getAddress().hasSocketAddress()) {
            throw new ConfigException(path + ".address: (expected: a socket_address)");
        }
        SocketAddress sa = l.getAddress().getSocketAddress();
        if (sa.getPortValue() > 65535) {
            throw new ConfigException(path + ".address.socket_address.port_value: " + sa.getPortValue()
                    + " (expected: 0..65535)");
        }
        InetSocketAddress address;
        try {
            address = new InetSocketAddress(java.net.InetAddress.getByName(sa.getAddress().isEmpty() ? "0.0.0.0" : sa.getAddress()),
                    sa.getPortValue());
        } catch (java.net.UnknownHostException e) {
            throw new ConfigException(path + ".address.socket_address.address: " + sa.getAddress()
                    + " (expected: an IP address)");
        }
        List<FilterChain> chains = l.getFilterChainsList();
        FilterChain chain;
        String chainPath;
        if (chains.size() == 1) {
            chain = chains.get(0);
            chainPath = path + ".filter_chains[0]";
        } else if (chains.isEmpty() && l.hasDefaultFilterChain()) {
            chain = l.getDefaultFilterChain();
            chainPath = path + ".default_filter_chain";
        } else {
            throw new ConfigException(path + ".filter_chains: " + chains.size()
                    + " chains (expected: exactly one filter chain)");
        }
        SslContext ssl = null;
        if (chain.hasTransportSocket()) {
            var ts = chain.getTransportSocket();
            if (!ts.hasTypedConfig() || !ts.getTypedConfig().is(DownstreamTlsContext.class)) {
                throw new ConfigException(chainPath + ".transport_socket: " + ts.getName()
                        + " (expected: envoy.transport_sockets.tls with a DownstreamTlsContext)");
            }
            try {
                ssl = TlsContexts.forDownstream(ts.getTypedConfig().unpack(DownstreamTlsContext.class));
            } catch (InvalidProtocolBufferException e) {
                throw new ConfigException(chainPath + ".transport_socket.typed_config: " + e.getMessage());
            } catch (ConfigException e) {
                throw e.under(chainPath + ".transport_socket.typed_config");
            }
        }
        if (chain.getFiltersCount() != 1) {
            throw new ConfigException(chainPath + ".filters: " + chain.getFiltersCount()
                    + " filters (expected: one of envoy.filters.network.http_connection_manager or envoy.filters.network.tcp_proxy)");
        }
        Filter f = chain.getFilters(0);
        String fpath = chainPath + ".filters[0]";
        Any cfg = f.getTypedConfig();
        HttpConnectionManagerInitializer http = null;
        TcpProxyConfig tcp = null;
        RpcProxyConfig rpc = null;
        if (cfg.is(HttpConnectionManager.class)) {
            http = new HttpConnectionManagerInitializer(HttpConnectionManagerConfig.create(
                    unpack(cfg, HttpConnectionManager.class, fpath), clusters, stats, fpath + ".typed_config"));
        } else if (cfg.is(TcpProxy.class)) {
            tcp = TcpProxyConfig.create(unpack(cfg, TcpProxy.class, fpath), clusters, stats, fpath + ".typed_config");
        } else if (RpcProxyConfig.matches(cfg)) {
            rpc = RpcProxyConfig.create(cfg, clusters, stats, fpath + ".typed_config");
        } else {
            throw new ConfigException(fpath + ".name: " + f.getName() + " (" + cfg.getTypeUrl()
                    + ") (expected: envoy.filters.network.http_connection_manager, envoy.filters.network.tcp_proxy or "
                    + RpcProxyConfig.FILTER_NAME + ")");
        }
        return new ProxyListener(l, address, ssl, http, tcp, rpc, stats);
    }

    private static <T extends Message> T unpack(Any any, Class<T> type, String path) throws ConfigException {
        try {
            return any.unpack(type);
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException(path + ".typed_config: " + e.getMessage());
        }
    }

    public String name() {
        return config.getName();
    }

    public Listener config() {
        return config;
    }

    /** Binds the socket; connections are served on {@code workers}. */
    public ChannelFuture bind(EventLoopGroup workers) {
        ServerBootstrap b = new ServerBootstrap()
                .group(workers)
                .channel(Transports.serverChannel(workers))
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        connections.add(ch);
                        cxTotal.inc();
                        cxActive.inc();
                        ch.closeFuture().addListener(f -> cxActive.dec());
                        if (sslContext != null) {
                            ch.pipeline().addLast("ssl", sslContext.newHandler(ch.alloc()));
                        }
                        if (http != null) {
                            if (sslContext != null) {
                                http.initSecure(ch.pipeline());
                            } else {
                                http.initCleartext(ch.pipeline());
                            }
                        } else if (rpc != null) {
                            rpc.initPipeline(ch.pipeline());
                        } else {
                            ch.pipeline().addLast("tcp_proxy", new TcpProxyHandler(tcp));
                        }
                        ch.pipeline().addLast("errors", new ChannelInboundHandlerAdapter() {
                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                logger.debug("{} closing on error: {}", ctx.channel(), cause.toString());
                                ctx.close();
                            }
                        });
                    }
                });
        ChannelFuture f = b.bind(address);
        serverChannel = f.channel();
        return f;
    }

    /** The bound address (with the real port when the config said 0). */
    public InetSocketAddress localAddress() {
        return serverChannel == null ? address : (InetSocketAddress) serverChannel.localAddress();
    }

    /** Stops accepting and asks every connection to finish its current work and close. */
    public void drain() {
        if (serverChannel != null) {
            serverChannel.close();
        }
        for (Channel ch : connections) {
            ch.pipeline().fireUserEventTriggered(DrainEvent.INSTANCE);
        }
    }

    /** Connections still open. */
    public int activeConnections() {
        return connections.size();
    }

    /** Closes every connection at once. */
    public void close() {
        if (serverChannel != null) {
            serverChannel.close();
        }
        connections.close();
    }
}
