package io.jmesh.proxy.listener;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.Any;
import com.google.protobuf.util.Durations;

import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.extension.ExtensionContext;
import io.jmesh.proxy.extension.ExtensionRegistry;
import io.jmesh.proxy.extension.ServerLifecycle;
import io.jmesh.proxy.internal.Transports;
import io.jmesh.proxy.network.NetworkFilterChain;
import io.jmesh.proxy.network.NetworkFilterFactory;
import io.jmesh.proxy.network.NetworkFilterInstaller;
import io.jmesh.proxy.network.NetworkFilterManager;
import io.jmesh.proxy.network.ReadFilter;
import io.jmesh.proxy.network.WriteFilter;
import io.jmesh.proxy.network.DrainEvent;
import io.jmesh.proxy.network.DrainSettings;
import io.jmesh.proxy.network.http.HttpConnectionManagerConfig;
import io.jmesh.proxy.network.http.HttpConnectionManagerFilterFactory;
import io.jmesh.proxy.network.rpc.RpcProxyConfig;
import io.jmesh.proxy.router.RouteTable;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.Gauge;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.tls.SecretManager;
import io.jmesh.proxy.tls.ServerTlsProvider;
import io.jmesh.proxy.tls.TlsStats;
import io.jmesh.proxy.transport.DownstreamTransportSocket;
import io.jmesh.proxy.transport.TransportSocketFactory;
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
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.ScheduledFuture;

/**
 * One Envoy listener: a bound socket, its listener filters, and its filter chains (TLS termination, then network
 * filters ending with the HTTP connection manager, tcp_proxy or rpc_proxy). Built and validated off the event
 * loop; immutable once built.
 *
 * <p>Supported: {@code address.socket_address}; {@code listener_filters} (from the {@link ExtensionRegistry}:
 * tls_inspector, http_inspector, original_dst, proxy_protocol, jmesh's rpc_inspector, or any registered) with
 * {@code listener_filters_timeout} and {@code continue_on_listener_filters_timeout}; {@code filter_chains} chosen
 * by {@code filter_chain_match} ({@code destination_port}, {@code server_names}, {@code transport_protocol},
 * {@code application_protocols}; see {@link FilterChainMatcher}) with a {@code default_filter_chain}; each chain
 * with an optional {@code transport_socket} {@code envoy.transport_sockets.tls} and its network filters, the last
 * one terminal. As Envoy, a listener whose chains match on SNI, TLS or ALPN without a TLS inspector gets one.
 */
public final class ProxyListener {

    private static final Logger logger = LoggerFactory.getLogger(ProxyListener.class);

    private static final String ORIGINAL_DST = "envoy.filters.listener.original_dst";

    /** The name of the listener filters of the listener a connection is handed off to (after the first listener's). */
    private static final String HANDED_OFF_LISTENER_FILTERS = ListenerFilterChain.NAME + "-handed-off";

    /** Envoy's default {@code listener_filters_timeout}. */
    public static final long DEFAULT_LISTENER_FILTERS_TIMEOUT_MILLIS = 15_000;

    /** One validated filter chain: TLS termination (optional) and its network filters, the last one terminal. */
    private record ChainRuntime(DownstreamTransportSocket socket, List<NetworkFilterInstaller> filters) {
        ServerTlsProvider tls() {
            return socket.tls();
        }
    }

    /** What a new connection is set up with; replaced whole by {@link #replaceFilterChain}. */
    private record Chain(Listener config, List<ChainRuntime> chains, FilterChainMatcher<ChainRuntime> matcher,
                         List<Supplier<ListenerFilter>> listenerFilters, long listenerFiltersTimeoutMillis,
                         boolean continueOnTimeout, boolean useOriginalDst) {
        /** The only chain when no selection is needed, else null. */
        ChainRuntime single() {
            return matcher == null ? chains.get(0) : null;
        }
    }

    private final InetSocketAddress address;
    /** Envoy's {@code freebind}: bind an address that is not (yet) configured on this host (IP_FREEBIND). */
    private boolean freebind;
    /** Envoy's {@code transparent}: accept connections to any address (IP_TRANSPARENT; iptables TPROXY). */
    private boolean transparent;
    private volatile Chain chain;
    private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final Counter cxTotal;
    private final Gauge cxActive;
    private final Counter preCxTimeout;
    private final Counter noFilterChain;
    private final TlsStats tlsStats;
    private Channel serverChannel;
    private volatile Function<InetSocketAddress, ProxyListener> handOff;

    private ProxyListener(InetSocketAddress address, Chain chain, Stats stats) {
        this.address = address;
        this.chain = chain;
        String prefix = "listener." + address.getAddress().getHostAddress() + "_" + address.getPort() + ".";
        this.cxTotal = stats.counter(prefix + "downstream_cx_total");
        this.cxActive = stats.gauge(prefix + "downstream_cx_active");
        this.preCxTimeout = stats.counter(prefix + "downstream_pre_cx_timeout");
        this.noFilterChain = stats.counter(prefix + "no_filter_chain_match");
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
                                       Function<String, RouteTable> rds)
            throws ConfigException {
        return create(l, clusters, stats, path, rds, SecretManager.none());
    }

    /**
     * As {@link #create(Listener, Supplier, Stats, String, Function)}, with the TLS secrets of the filter chains'
     * transport sockets from {@code secrets} (static or SDS); see {@link #secretsReady()}.
     */
    public static ProxyListener create(Listener l, Supplier<ClusterManager> clusters, Stats stats, String path,
                                       Function<String, RouteTable> rds, SecretManager secrets)
            throws ConfigException {
        return create(l, ExtensionContext.of(clusters, stats, null, ServerLifecycle.NONE, secrets),
                ExtensionRegistry.loadDefault(), path, rds);
    }

    /**
     * Validates a listener with the extensions of {@code registry}; {@code rds} returns the current route table
     * of a route configuration name (null if none has arrived yet, or null for no RDS).
     */
    public static ProxyListener create(Listener l, ExtensionContext context, ExtensionRegistry registry, String path,
                                       Function<String, RouteTable> rds)
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
            ChainRuntime r = buildChain(chains.get(i), context, registry, path + ".filter_chains[" + i + "]", rds,
                    l.getTrafficDirection());
            runtimes.add(r);
            entries.add(new FilterChainMatcher.Entry<>(chains.get(i).getFilterChainMatch(), r));
        }
        ChainRuntime fallback = null;
        if (l.hasDefaultFilterChain()) {
            fallback = buildChain(l.getDefaultFilterChain(), context, registry, path + ".default_filter_chain", rds,
                    l.getTrafficDirection());
            runtimes.add(fallback);
        }
        boolean trivial = runtimes.size() == 1
                && (chains.isEmpty() || chains.get(0).getFilterChainMatch().equals(FilterChainMatch.getDefaultInstance()));
        FilterChainMatcher<ChainRuntime> matcher = trivial ? null : new FilterChainMatcher<>(entries, fallback);
        List<Supplier<ListenerFilter>> listenerFilters = buildListenerFilters(l, context, registry, path);
        long timeout = DEFAULT_LISTENER_FILTERS_TIMEOUT_MILLIS;
        if (l.hasListenerFiltersTimeout()) {
            timeout = Durations.toMillis(l.getListenerFiltersTimeout());
            if (timeout < 0) {
                throw new ConfigException(path + ".listener_filters_timeout: " + Durations.toString(
                        l.getListenerFiltersTimeout()) + " (expected: >= 0s)");
            }
        }
        Chain c = new Chain(l, List.copyOf(runtimes), matcher, listenerFilters, timeout,
                l.getContinueOnListenerFiltersTimeout(), l.hasUseOriginalDst() && l.getUseOriginalDst().getValue());
        ProxyListener listener = new ProxyListener(address, c, context.stats());
        listener.freebind = l.hasFreebind() && l.getFreebind().getValue();
        listener.transparent = l.hasTransparent() && l.getTransparent().getValue();
        return listener;
    }

    private static List<Supplier<ListenerFilter>> buildListenerFilters(Listener l, ExtensionContext context,
                                                                       ExtensionRegistry registry, String path)
            throws ConfigException {
        List<Supplier<ListenerFilter>> out = new ArrayList<>();
        boolean tlsInspector = false;
        for (int i = 0; i < l.getListenerFiltersCount(); i++) {
            io.envoyproxy.envoy.config.listener.v3.ListenerFilter proto = l.getListenerFilters(i);
            String at = path + ".listener_filters[" + i + "]";
            if (proto.hasConfigDiscovery()) {
                throw new ConfigException(at + ".config_discovery: set (expected: a typed_config; ECDS is not supported)");
            }
            if (proto.hasFilterDisabled()) {
                throw new ConfigException(at + ".filter_disabled: set (expected: unset; not supported)");
            }
            Any cfg = proto.hasTypedConfig() ? proto.getTypedConfig() : null;
            ListenerFilterFactory f = registry.require(ListenerFilterFactory.KIND, proto.getName(), cfg, at, false);
            tlsInspector |= f instanceof TlsInspector.Factory;
            try {
                out.add(f.create(cfg == null ? Any.getDefaultInstance() : cfg, context));
            } catch (ConfigException e) {
                throw e.under(at);
            }
        }
        boolean useOriginalDst = l.hasUseOriginalDst() && l.getUseOriginalDst().getValue();
        if (useOriginalDst && l.getListenerFiltersList().stream().noneMatch(f -> f.getName().equals(ORIGINAL_DST))) {
            // As Envoy: use_original_dst implies the original_dst listener filter, which restores the destination.
            ListenerFilterFactory f = registry.require(ListenerFilterFactory.KIND, ORIGINAL_DST, null,
                    path + ".use_original_dst", false);
            out.add(0, f.create(Any.getDefaultInstance(), context));
        }
        if (!tlsInspector && needsTlsInspector(l, out.isEmpty())) {
            logger.warn("{}: filter chain match rules require the TLS inspector listener filter, but it is not"
                    + " configured; adding it first, as Envoy does", path);
            TlsInspector injected = new TlsInspector(context.stats());
            out.add(0, () -> injected);
        }
        return List.copyOf(out);
    }

    /** Envoy's rule for injecting the TLS inspector: a chain matches on SNI, on {@code tls}, or on ALPN alone. */
    private static boolean needsTlsInspector(Listener l, boolean noListenerFilters) {
        for (FilterChain fc : l.getFilterChainsList()) {
            FilterChainMatch m = fc.getFilterChainMatch();
            if (m.getServerNamesCount() > 0 || m.getTransportProtocol().equals("tls")
                    || (m.getApplicationProtocolsCount() > 0 && m.getTransportProtocol().isEmpty() && noListenerFilters)) {
                return true;
            }
        }
        return false;
    }

    private static ChainRuntime buildChain(FilterChain chain, ExtensionContext context, ExtensionRegistry registry,
                                           String chainPath, Function<String, RouteTable> rds,
                                           io.envoyproxy.envoy.config.core.v3.TrafficDirection direction)
            throws ConfigException {
        DownstreamTransportSocket socket = DownstreamTransportSocket.RAW_BUFFER;
        if (chain.hasTransportSocket()) {
            var ts = chain.getTransportSocket();
            Any tc = ts.hasTypedConfig() ? ts.getTypedConfig() : null;
            TransportSocketFactory factory = registry.find(TransportSocketFactory.KIND, ts.getName(), tc);
            try {
                socket = factory == null ? null : factory.createDownstream(tc, context);
            } catch (ConfigException e) {
                throw e.under(chainPath + ".transport_socket");
            }
            if (socket == null) {
                throw new ConfigException(chainPath + ".transport_socket: " + ts.getName()
                        + " (expected: envoy.transport_sockets.tls with a DownstreamTlsContext)");
            }
        }
        if (chain.getFiltersCount() == 0) {
            throw new ConfigException(chainPath + ".filters: [] (expected: network filters ending with"
                    + " envoy.filters.network.http_connection_manager, envoy.filters.network.tcp_proxy or "
                    + RpcProxyConfig.FILTER_NAME + ")");
        }
        NetworkFilterFactory.Context fctx = new FactoryContext(context, registry, rds, direction);
        List<NetworkFilterInstaller> installers = new ArrayList<>(chain.getFiltersCount());
        for (int i = 0; i < chain.getFiltersCount(); i++) {
            Filter f = chain.getFilters(i);
            String fpath = chainPath + ".filters[" + i + "]";
            if (f.hasConfigDiscovery()) {
                throw new ConfigException(fpath + ".config_discovery: set (expected: a typed_config; ECDS is not supported)");
            }
            Any cfg = f.hasTypedConfig() ? f.getTypedConfig() : null;
            NetworkFilterFactory factory = registry.require(NetworkFilterFactory.KIND, f.getName(), cfg, fpath, false);
            boolean last = i == chain.getFiltersCount() - 1;
            if (factory.terminal() != last) {
                throw new ConfigException(fpath + ".name: " + f.getName() + (last
                        ? " (expected: a terminal filter last: envoy.filters.network.http_connection_manager,"
                          + " envoy.filters.network.tcp_proxy or " + RpcProxyConfig.FILTER_NAME + ")"
                        : " (expected: the terminal filter to be the last one)"));
            }
            try {
                installers.add(factory.create(cfg == null ? Any.getDefaultInstance() : cfg, fctx));
            } catch (ConfigException e) {
                throw e.under(fpath);
            }
        }
        return new ChainRuntime(socket, List.copyOf(installers));
    }

    /** The context network filter factories of one listener see. */
    private record FactoryContext(ExtensionContext parent, ExtensionRegistry registry,
                                  Function<String, RouteTable> routes,
                                  io.envoyproxy.envoy.config.core.v3.TrafficDirection trafficDirection)
            implements NetworkFilterFactory.Context {
        @Override
        public Supplier<ClusterManager> clusterManager() {
            return parent.clusterManager();
        }

        @Override
        public Stats stats() {
            return parent.stats();
        }

        @Override
        public EventLoopGroup eventLoopGroup() {
            return parent.eventLoopGroup();
        }

        @Override
        public ServerLifecycle lifecycle() {
            return parent.lifecycle();
        }

        @Override
        public SecretManager secretManager() {
            return parent.secretManager();
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
            NetworkFilterInstaller last = r.filters.get(r.filters.size() - 1);
            if (last instanceof HttpConnectionManagerFilterFactory.Installer) {
                out.add(((HttpConnectionManagerFilterFactory.Installer) last).config());
            }
        }
        return out;
    }

    /**
     * Updates this listener in place with the filter chain of {@code next}, draining its connections as
     * {@link DrainSettings#ISTIO_DEFAULT} says; see {@link #replaceFilterChain(ProxyListener, DrainSettings)}.
     */
    public void replaceFilterChain(ProxyListener next) {
        replaceFilterChain(next, DrainSettings.ISTIO_DEFAULT);
    }

    /**
     * Updates this listener in place with the filter chain of {@code next} (built by {@link #create} for the same
     * address, never bound): the socket keeps accepting without a gap, new connections get the new chain, and
     * connections accepted before are asked to finish their current requests and close (HTTP/1.1
     * {@code connection: close}, HTTP/2 GOAWAY, RPC closed once no call is open: {@link DrainEvent}), at once or,
     * with {@link DrainSettings.Strategy#GRADUAL}, each at a random moment of the drain time, as Envoy drains the
     * connections of an updated listener. A connection still open when {@code drain.drainMillis()} has passed is
     * closed then, calls and streams in flight included (HTTP/2 without waiting for its streams), so that a
     * connection that never goes idle cannot keep the old filter chain, and its old policy, for ever.
     * Thread-safe.
     */
    public void replaceFilterChain(ProxyListener next, DrainSettings drain) {
        if (!next.address.equals(address)) {
            throw new IllegalArgumentException("address " + next.address + " differs from " + address);
        }
        List<Channel> old = List.copyOf(connections);
        chain = next.chain;
        for (Channel ch : old) {
            long askAfter = drain.strategy() == DrainSettings.Strategy.GRADUAL && drain.drainMillis() > 0
                    ? ThreadLocalRandom.current().nextLong(drain.drainMillis()) : 0;
            if (askAfter == 0) {
                ch.pipeline().fireUserEventTriggered(DrainEvent.LISTENER_UPDATE);
            } else {
                ch.eventLoop().schedule(() -> ch.pipeline().fireUserEventTriggered(DrainEvent.LISTENER_UPDATE),
                        askAfter, TimeUnit.MILLISECONDS);
            }
            ScheduledFuture<?> deadline = ch.eventLoop().schedule(() -> closeAtDrainDeadline(ch),
                    drain.drainMillis(), TimeUnit.MILLISECONDS);
            ch.closeFuture().addListener(f -> deadline.cancel(false));
        }
    }

    /** Closes a connection of an old filter chain whose drain time is over; on its event loop. */
    private void closeAtDrainDeadline(Channel ch) {
        if (!ch.isActive()) {
            return;
        }
        logger.debug("{} listener {}: drain time over, closing a connection of the old filter chain", ch, name());
        ch.close(); // HTTP/2 too at once: Http2FrameCodecBuilder sets the codec's graceful shutdown timeout to 0
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
                        ConnectionInfo.of(ch);
                        serve(ch, ch.pipeline(), true);
                    }
                });
        if (freebind) {
            epollOption(b, workers, io.netty.channel.epoll.EpollChannelOption.IP_FREEBIND, "freebind");
        }
        if (transparent) {
            epollOption(b, workers, io.netty.channel.epoll.EpollChannelOption.IP_TRANSPARENT, "transparent");
        }
        ChannelFuture f = b.bind(address);
        serverChannel = f.channel();
        return f;
    }

    /** Sets a Linux socket option of the listener ({@code field}, Envoy's name), or warns that it is ignored. */
    private void epollOption(ServerBootstrap b, EventLoopGroup workers, ChannelOption<Boolean> option, String field) {
        if (Transports.serverChannel(workers) == io.netty.channel.epoll.EpollServerSocketChannel.class) {
            b.option(option, true);
        } else {
            logger.warn("listener {}: {}: not available without the native epoll transport, ignored", address, field);
        }
    }

    /**
     * Sets where a listener with {@code use_original_dst} hands its redirected connections: {@code lookup} returns the
     * listener of a connection's original destination (exact address, else {@code 0.0.0.0} with the same port), or
     * null to keep the connection here. Without a lookup (the default) connections are never handed off.
     */
    public void handOffLookup(Function<InetSocketAddress, ProxyListener> lookup) {
        this.handOff = lookup;
    }

    /**
     * Takes a connection accepted by another listener ({@code use_original_dst} hand-off, as Envoy's
     * {@code hand_off_restored_destination_connections}): this listener's listener filters run on it (never handing
     * it off again), then its filter chain is chosen and installed after the handler of {@code ctx}. Call on the
     * connection's event loop, before {@code channelActive} reaches the handlers after {@code ctx}.
     */
    void takeHandedOff(ChannelHandlerContext ctx) {
        logger.debug("{} handed off to listener {}", ctx.channel(), name());
        serve(ctx.channel(), ctx.pipeline(), false);
    }

    /** Whether the socket is bound (false for a {@code bind_to_port: false} listener that only takes hand-offs). */
    public boolean socketBound() {
        return serverChannel != null;
    }

    /** Sets up one connection: listener filters (if any), then the filter chain they select (or a hand-off). */
    private void serve(Channel ch, ChannelPipeline p, boolean mayHandOff) {
        Chain chain = ProxyListener.this.chain;
        connections.add(ch);
        cxTotal.inc();
        cxActive.inc();
        ch.closeFuture().addListener(f -> cxActive.dec());
        Function<InetSocketAddress, ProxyListener> lookup = mayHandOff && chain.useOriginalDst ? handOff : null;
        if (chain.listenerFilters.isEmpty() && lookup == null) {
            ChainRuntime r = select(chain, ch);
            if (r == null) {
                ch.close();
                return;
            }
            install(p, r, tlsStats);
            return;
        }
        List<ListenerFilter> filters = new ArrayList<>(chain.listenerFilters.size());
        for (Supplier<ListenerFilter> s : chain.listenerFilters) {
            filters.add(s.get());
        }
        p.addLast(mayHandOff ? ListenerFilterChain.NAME : HANDED_OFF_LISTENER_FILTERS,
                new ListenerFilterChain(filters, chain.listenerFiltersTimeoutMillis, chain.continueOnTimeout, ctx -> {
                    if (lookup != null) {
                        InetSocketAddress dst = ConnectionInfo.of(ctx.channel()).destinationAddress();
                        ProxyListener target = dst == null ? null : lookup.apply(dst);
                        if (target != null && target != this) {
                            target.takeHandedOff(ctx);
                            return;
                        }
                    }
                    ChainRuntime r = select(chain, ctx.channel());
                    if (r == null) {
                        ctx.close();
                    } else {
                        install(ctx.pipeline(), r, tlsStats);
                    }
                }, preCxTimeout));
    }

    /** The address from the config (port 0 when the system picks one); {@link #localAddress()} once bound. */
    public InetSocketAddress configuredAddress() {
        return address;
    }

    /**
     * Completes when the TLS secrets of every filter chain have arrived (at once without SDS): a listener
     * waiting for its secrets is warming and is bound only after (Envoy's listener warming).
     */
    public java.util.concurrent.CompletableFuture<Void> secretsReady() {
        return java.util.concurrent.CompletableFuture.allOf(chain.chains.stream().filter(r -> r.tls() != null)
                .map(r -> r.tls().ready()).toArray(java.util.concurrent.CompletableFuture[]::new));
    }

    /** Whether a filter chain waits for a TLS secret whose SDS config says {@code initial_fetch_timeout: 0s}. */
    public boolean secretsAwaitedWithoutDeadline() {
        return chain.chains.stream().anyMatch(r -> r.tls() != null && r.tls().awaitsSecretsWithoutDeadline());
    }

    /** The filter chain for a connection from what the listener filters found, or null (closed, as Envoy). */
    private ChainRuntime select(Chain chain, Channel ch) {
        ChainRuntime single = chain.single();
        if (single != null) {
            return single;
        }
        ConnectionInfo info = ConnectionInfo.of(ch);
        InetSocketAddress dst = info.destinationAddress();
        ChainRuntime r = chain.matcher.select(new FilterChainMatcher.Connection(dst == null ? 0 : dst.getPort(),
                info.requestedServerName(), info.transportProtocol(), info.requestedApplicationProtocols()));
        if (r == null) {
            noFilterChain.inc();
            logger.debug("{} no filter chain matches (sni={}, transport={}, alpn={}); closing", ch,
                    info.requestedServerName(), info.transportProtocol(), info.requestedApplicationProtocols());
        }
        return r;
    }

    /**
     * Sets up a connection for one filter chain, at the end of its pipeline: TLS, the non-terminal network
     * filters ({@link NetworkFilterChain}, only when the chain has some), the terminal filter's handlers.
     */
    private static void install(ChannelPipeline p, ChainRuntime r, TlsStats tlsStats) {
        r.socket.initChannel(p.channel());
        ServerTlsProvider tls = r.tls();
        boolean secure = tls != null;
        if (secure) {
            // The TLS context of the chain's current secrets: a rotation reaches the next connection.
            SslHandler h = tls.newHandler(p.channel().alloc(),
                    ConnectionInfo.of(p.channel()).requestedServerName());
            if (h == null) {
                logger.debug("{} filter chain TLS secret not yet available; closing", p.channel());
                p.channel().close();
                return;
            }
            p.addLast("ssl", h);
            p.addLast("ssl-stats", tlsStats.newDownstreamHandler());
        }
        Manager m = new Manager(p, secure);
        int last = r.filters.size() - 1;
        for (int i = 0; i < last; i++) {
            r.filters.get(i).install(m);
        }
        if (!m.reads.isEmpty() || !m.writes.isEmpty()) {
            p.addLast(NetworkFilterChain.NAME, new NetworkFilterChain(m.reads, m.writes));
        }
        r.filters.get(last).install(m);
        p.addLast("errors", new ChannelInboundHandlerAdapter() {
            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                logger.debug("{} closing on error: {}", ctx.channel(), cause.toString());
                ctx.close();
            }
        });
    }

    /** Collects the read and write filters of one new connection. */
    private static final class Manager implements NetworkFilterManager {
        private final ChannelPipeline pipeline;
        private final boolean secure;
        final List<ReadFilter> reads = new ArrayList<>(2);
        final List<WriteFilter> writes = new ArrayList<>(2);

        Manager(ChannelPipeline pipeline, boolean secure) {
            this.pipeline = pipeline;
            this.secure = secure;
        }

        @Override
        public void addReadFilter(ReadFilter filter) {
            reads.add(filter);
        }

        @Override
        public void addWriteFilter(WriteFilter filter) {
            writes.add(filter);
        }

        @Override
        public ChannelPipeline pipeline() {
            return pipeline;
        }

        @Override
        public ConnectionInfo connectionInfo() {
            return ConnectionInfo.of(pipeline.channel());
        }

        @Override
        public boolean secure() {
            return secure;
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

    /** Closes every connection at once (HTTP/2 ones too, open streams and all: the codec waits for none). */
    public void close() {
        if (serverChannel != null) {
            serverChannel.close();
        }
        connections.close();
    }
}
