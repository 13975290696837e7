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
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
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
import io.jmesh.proxy.tls.TlsStats;
import io.jmesh.proxy.upstream.ClusterManager;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.GlobalEventExecutor;

/**
 * One Envoy listener: a bound socket and its filter chain (TLS termination, then the HTTP connection
 * manager or tcp_proxy). Built and validated off the event loop; immutable once built.
 *
 * <p>Supported: {@code address.socket_address}; {@code filter_chains} chosen by {@code filter_chain_match}
 * ({@code destination_port}, {@code server_names}, {@code transport_protocol}, {@code application_protocols};
 * see {@link FilterChainMatcher}) with a {@code default_filter_chain}; each chain with an optional
 * {@code transport_socket} {@code envoy.transport_sockets.tls} and one terminal network filter.
 */
public final class ProxyListener {

    private static final Logger logger = LoggerFactory.getLogger(ProxyListener.class);

    /** One validated filter chain: TLS termination (optional) and its terminal network filter. */
    private record ChainRuntime(SslContext sslContext, HttpConnectionManagerInitializer http, TcpProxyConfig tcp,
                                RpcProxyConfig rpc) {}

    /** What a new connection is set up with; replaced whole by {@link #replaceFilterChain}. */
    private record Chain(Listener config, List<ChainRuntime> chains, FilterChainMatcher<ChainRuntime> matcher) {
        /** The only chain when no selection is needed, else null. */
        ChainRuntime single() {
            return matcher == null ? chains.get(0) : null;
        }
    }

    private final InetSocketAddress address;
    private volatile Chain chain;
    private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final Counter cxTotal;
    private final Gauge cxActive;
    private final TlsStats tlsStats;
    private Channel serverChannel;

    private ProxyListener(Listener config, InetSocketAddress address, List<ChainRuntime> chains,
                          FilterChainMatcher<ChainRuntime> matcher, Stats stats) {
        this.address = address;
        this.chain = new Chain(config, chains, matcher);
        String prefix = "listener." + address.getAddress().getHostAddress() + "_" + address.getPort() + ".";
        this.cxTotal = stats.counter(prefix + "downstream_cx_total");
        this.cxActive = stats.gauge(prefix + "downstream_cx_active");
        this.tlsStats = new TlsStats(stats, prefix + "ssl.");
    }

    /** Validates a listener; {@code path} names it in errors, e.g. {@code static_resources.listeners[0]}. */
    public static ProxyListener create(Listener l, Supplier<ClusterManager> clusters, Stats stats, String path)
            throws ConfigException {
        return create(l, clusters, stats, path, null);
    }

    /**
     * Validates a listener whose HTTP connection manager may take its routes from RDS: {@code rds} returns the
     * current route table of a route configuration name, or null if none has arrived yet (see
     * {@link HttpConnectionManagerConfig#create(HttpConnectionManager, Supplier, Stats, String, java.util.function.Function)}).
     */
    public static ProxyListener create(Listener l, Supplier<ClusterManager> clusters, Stats stats, String path,
                                       java.util.function.Function<String, io.jmesh.proxy.router.RouteTable> rds)
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
        if (chains.isEmpty() && !l.hasDefaultFilterChain()) {
            throw new ConfigException(path + ".filter_chains: [] (expected: at least one filter chain or a default_filter_chain)");
        }
        List<ChainRuntime> runtimes = new java.util.ArrayList<>();
        List<FilterChainMatcher.Entry<ChainRuntime>> entries = new java.util.ArrayList<>();
        for (int i = 0; i < chains.size(); i++) {
            ChainRuntime r = buildChain(chains.get(i), clusters, stats, path + ".filter_chains[" + i + "]", rds);
            runtimes.add(r);
            entries.add(new FilterChainMatcher.Entry<>(chains.get(i).getFilterChainMatch(), r));
        }
        ChainRuntime fallback = null;
        if (l.hasDefaultFilterChain()) {
            fallback = buildChain(l.getDefaultFilterChain(), clusters, stats, path + ".default_filter_chain", rds);
            runtimes.add(fallback);
        }
        boolean trivial = runtimes.size() == 1
                && (chains.isEmpty() || chains.get(0).getFilterChainMatch().equals(FilterChainMatch.getDefaultInstance()));
        FilterChainMatcher<ChainRuntime> matcher = trivial ? null : new FilterChainMatcher<>(entries, fallback);
        return new ProxyListener(l, address, List.copyOf(runtimes), matcher, stats);
    }

    private static ChainRuntime buildChain(FilterChain chain, Supplier<ClusterManager> clusters, Stats stats,
                                           String chainPath,
                                           java.util.function.Function<String, io.jmesh.proxy.router.RouteTable> rds)
            throws ConfigException {
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
                    unpack(cfg, HttpConnectionManager.class, fpath), clusters, stats, fpath + ".typed_config", rds));
        } else if (cfg.is(TcpProxy.class)) {
            tcp = TcpProxyConfig.create(unpack(cfg, TcpProxy.class, fpath), clusters, stats, fpath + ".typed_config");
        } else if (RpcProxyConfig.matches(cfg)) {
            rpc = RpcProxyConfig.create(cfg, clusters, stats, fpath + ".typed_config");
        } else {
            throw new ConfigException(fpath + ".name: " + f.getName() + " (" + cfg.getTypeUrl()
                    + ") (expected: envoy.filters.network.http_connection_manager, envoy.filters.network.tcp_proxy or "
                    + RpcProxyConfig.FILTER_NAME + ")");
        }
        return new ChainRuntime(ssl, http, tcp, rpc);
    }

    private static <T extends Message> T unpack(Any any, Class<T> type, String path) throws ConfigException {
        try {
            return any.unpack(type);
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException(path + ".typed_config: " + e.getMessage());
        }
    }

    public String name() {
        return chain.config.getName();
    }

    /** The listener as last configured (by {@link #create} or {@link #replaceFilterChain}). */
    public Listener config() {
        return chain.config;
    }

    /** The HTTP connection managers of the current filter chains (none for tcp_proxy chains). */
    public List<HttpConnectionManagerConfig> httpConfigs() {
        List<HttpConnectionManagerConfig> out = new java.util.ArrayList<>(chain.chains.size());
        for (ChainRuntime r : chain.chains) {
            if (r.http != null) {
                out.add(r.http.config());
            }
        }
        return out;
    }

    /**
     * Updates this listener in place with the filter chain of {@code next} (built by {@link #create} for the same
     * address, never bound): the socket keeps accepting without a gap, new connections get the new chain, and
     * connections accepted before are asked to finish their current requests and close (HTTP/1.1
     * {@code connection: close}, HTTP/2 GOAWAY), as Envoy drains the connections of an updated listener.
     * Thread-safe.
     */
    public void replaceFilterChain(ProxyListener next) {
        if (!next.address.equals(address)) {
            throw new IllegalArgumentException("address " + next.address + " differs from " + address);
        }
        List<Channel> old = List.copyOf(connections);
        chain = next.chain;
        for (Channel ch : old) {
            ch.pipeline().fireUserEventTriggered(DrainEvent.INSTANCE);
        }
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
                        Chain chain = ProxyListener.this.chain;
                        connections.add(ch);
                        cxTotal.inc();
                        cxActive.inc();
                        ch.closeFuture().addListener(f -> cxActive.dec());
                        ChainRuntime single = chain.single();
                        if (single != null) {
                            install(ch.pipeline(), single, tlsStats);
                        } else {
                            ch.pipeline().addLast("filter-chain-match", new FilterChainSelector(chain.matcher, tlsStats));
                        }
                    }
                });
        ChannelFuture f = b.bind(address);
        serverChannel = f.channel();
        return f;
    }

    /** Sets up a connection for one filter chain, at the end of its pipeline. */
    private static void install(ChannelPipeline p, ChainRuntime r, TlsStats tlsStats) {
        if (r.sslContext != null) {
            p.addLast("ssl", r.sslContext.newHandler(p.channel().alloc()));
            p.addLast("ssl-stats", tlsStats.newDownstreamHandler());
        }
        if (r.http != null) {
            if (r.sslContext != null) {
                r.http.initSecure(p);
            } else {
                r.http.initCleartext(p);
            }
        } else if (r.rpc != null) {
            r.rpc.initPipeline(p);
        } else {
            p.addLast("tcp_proxy", new TcpProxyHandler(r.tcp));
        }
        p.addLast("errors", new ChannelInboundHandlerAdapter() {
            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                logger.debug("{} closing on error: {}", ctx.channel(), cause.toString());
                ctx.close();
            }
        });
    }

    /**
     * Chooses the filter chain of a connection from its destination port and, when a chain asks for them, the
     * TLS ClientHello's SNI and ALPN (peeked, not consumed), then hands the bytes read so far to that chain.
     */
    private static final class FilterChainSelector extends io.netty.handler.codec.ByteToMessageDecoder {
        private final FilterChainMatcher<ChainRuntime> matcher;
        private final TlsStats tlsStats;

        FilterChainSelector(FilterChainMatcher<ChainRuntime> matcher, TlsStats tlsStats) {
            this.matcher = matcher;
            this.tlsStats = tlsStats;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            if (!matcher.needsClientHello()) {
                choose(ctx, null, "raw_buffer");
            }
            super.channelActive(ctx);
        }

        @Override
        protected void decode(ChannelHandlerContext ctx, io.netty.buffer.ByteBuf in, List<Object> out) {
            if (!ClientHello.looksLikeTls(in)) {
                choose(ctx, null, "raw_buffer");
                return;
            }
            ClientHello hello = ClientHello.parse(in);
            if (hello == null) {
                if (in.readableBytes() >= ClientHello.MAX_BYTES) {
                    choose(ctx, null, "tls");
                }
                return;
            }
            choose(ctx, hello, "tls");
        }

        private void choose(ChannelHandlerContext ctx, ClientHello hello, String transport) {
            if (ctx.isRemoved()) {
                return;
            }
            int port = ((InetSocketAddress) ctx.channel().localAddress()).getPort();
            ChainRuntime r = matcher.select(new FilterChainMatcher.Connection(port,
                    hello == null ? null : hello.serverName, transport, hello == null ? List.of() : hello.alpn));
            if (r == null) {
                logger.debug("{} no filter chain matches (sni={}, transport={}); closing", ctx.channel(),
                        hello == null ? null : hello.serverName, transport);
                ctx.close();
                return;
            }
            install(ctx.pipeline(), r, tlsStats);
            // Removing the decoder passes the bytes it holds to the chain just installed.
            ctx.pipeline().remove(this);
        }
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
