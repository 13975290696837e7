package io.jmesh.proxy.server;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import com.google.protobuf.Timestamp;

import io.envoyproxy.envoy.admin.v3.BootstrapConfigDump;
import io.envoyproxy.envoy.admin.v3.ClustersConfigDump;
import io.envoyproxy.envoy.admin.v3.ConfigDump;
import io.envoyproxy.envoy.admin.v3.ListenersConfigDump;
import io.envoyproxy.envoy.admin.v3.RoutesConfigDump;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.jmesh.proxy.admin.AdminContext;
import io.jmesh.proxy.admin.AdminServer;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.extension.DefaultServerLifecycle;
import io.jmesh.proxy.extension.ExtensionContext;
import io.jmesh.proxy.extension.ExtensionRegistry;
import io.jmesh.proxy.internal.Transports;
import io.jmesh.proxy.listener.HandOffTable;
import io.jmesh.proxy.listener.ProxyListener;
import io.jmesh.proxy.network.DrainSettings;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.telemetry.accesslog.AccessLogs;
import io.jmesh.proxy.upstream.ClusterManager;
import io.jmesh.proxy.upstream.Host;
import io.jmesh.proxy.upstream.UpstreamCluster;
import io.jmesh.proxy.xds.AdsBootstrap;
import io.jmesh.proxy.xds.AdsClient;
import io.jmesh.proxy.xds.DynamicConfigManager;
import io.jmesh.proxy.xds.ListenerBinding;
import io.jmesh.proxy.xds.SdsSubscriptions;
import io.jmesh.proxy.tls.DefaultSecretManager;
import io.jmesh.proxy.tls.SecretManager;
import io.netty.channel.EventLoopGroup;

/**
 * A running proxy: worker event loops, the cluster manager, listeners and the admin server, built from
 * an Envoy bootstrap. {@link #start} validates everything before binding anything, so a bad config
 * never leaves a half-started proxy.
 */
public final class ProxyServer implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(ProxyServer.class);

    /** The version reported by /server_info and {@code jmesh version}. */
    public static final String VERSION = "0.1.0";

    private final Bootstrap bootstrap;
    private final Stats stats = new Stats();
    private final EventLoopGroup workers;
    private final long startMillis = System.currentTimeMillis();
    private volatile ClusterManager clusters;
    private final List<ProxyListener> listeners = new ArrayList<>();
    private AdminServer admin;
    private volatile String state = "INITIALIZING";
    private volatile boolean healthCheckFailed;
    private final CountDownLatch stopped = new CountDownLatch(1);
    /** {@link #validate}: build, do not bind or follow a control plane. */
    private boolean validateOnly;
    private volatile Runnable onQuit = () -> {};
    private final ListenerBinding binding;
    private final ExtensionRegistry extensions;
    private final DefaultServerLifecycle lifecycle = new DefaultServerLifecycle();
    private ExtensionContext extensionContext;
    private ScheduledExecutorService xdsExecutor;
    private SdsSubscriptions sds;
    private DefaultSecretManager secrets;
    /** Static listeners bound so far (one whose TLS secret comes by SDS is bound when it arrives). */
    private final List<ProxyListener> boundStatic = new java.util.concurrent.CopyOnWriteArrayList<>();
    private DynamicConfigManager dynamic;
    private AdsClient ads;

    /**
     * How long a listener removed or updated by LDS lets its connections finish before closing them, unless
     * {@link #start(Bootstrap, int, ListenerBinding, ExtensionRegistry, DrainSettings)} says otherwise: Istio's
     * {@code drainDuration} (Envoy's own {@code --drain-time-s} default is 600 s).
     */
    public static final long LDS_DRAIN_MILLIS = DrainSettings.ISTIO_DEFAULT.drainMillis();

    private final DrainSettings drain;

    private ProxyServer(Bootstrap bootstrap, int concurrency, ListenerBinding binding, ExtensionRegistry extensions,
                        DrainSettings drain) {
        this.bootstrap = bootstrap;
        this.drain = drain;
        this.binding = binding;
        this.extensions = extensions;
        this.workers = Transports.newGroup(concurrency, "jmesh-worker");
    }

    /**
     * Validates the bootstrap, then binds listeners and the admin server.
     *
     * @param concurrency worker event loops (Envoy's {@code --concurrency}); 0 = number of CPUs
     */
    public static ProxyServer start(Bootstrap bootstrap, int concurrency) throws ConfigException, InterruptedException {
        return start(bootstrap, concurrency, ListenerBinding.AS_CONFIGURED);
    }

    /**
     * Validates the bootstrap, binds its static listeners and the admin server, and, when the bootstrap has
     * {@code dynamic_resources}, starts following the control plane over ADS (asynchronously: LDS listeners
     * appear in {@link #listenerAddresses()} as they arrive; the proxy serves its static config meanwhile).
     *
     * @param concurrency worker event loops (Envoy's {@code --concurrency}); 0 = number of CPUs
     * @param binding     where LDS listeners are bound on a machine without traffic redirection
     */
    public static ProxyServer start(Bootstrap bootstrap, int concurrency, ListenerBinding binding)
            throws ConfigException, InterruptedException {
        return start(bootstrap, concurrency, binding, ExtensionRegistry.loadDefault());
    }

    /**
     * As {@link #start(Bootstrap, int, ListenerBinding)}, with the extensions (filters, listener filters) that
     * listeners are built with.
     */
    public static ProxyServer start(Bootstrap bootstrap, int concurrency, ListenerBinding binding,
                                    ExtensionRegistry extensions) throws ConfigException, InterruptedException {
        return start(bootstrap, concurrency, binding, extensions, DrainSettings.ISTIO_DEFAULT);
    }

    /**
     * As {@link #start(Bootstrap, int, ListenerBinding, ExtensionRegistry)}, with how listeners removed or updated
     * by LDS drain their connections (Envoy's {@code --drain-time-s} and {@code --drain-strategy}).
     */
    public static ProxyServer start(Bootstrap bootstrap, int concurrency, ListenerBinding binding,
                                    ExtensionRegistry extensions, DrainSettings drain)
            throws ConfigException, InterruptedException {
        int n = concurrency > 0 ? concurrency : Runtime.getRuntime().availableProcessors();
        ProxyServer server = new ProxyServer(bootstrap, n, binding, extensions, drain);
        try {
            server.init();
        } catch (ConfigException | RuntimeException | InterruptedException e) {
            server.close();
            throw e;
        }
        return server;
    }

    /**
     * Envoy's {@code --mode validate}: builds everything {@link #start} builds (secrets, clusters, listeners with
     * their filter chains and filters, the ADS settings) and reports the first error as {@code start} would, but
     * binds no port and contacts no control plane; then releases it all. So a file that validates also serves,
     * and a file that {@code start} refuses is refused here with the same message.
     */
    public static void validate(Bootstrap bootstrap, ExtensionRegistry extensions)
            throws ConfigException, InterruptedException {
        ProxyServer server = new ProxyServer(bootstrap, 1, ListenerBinding.AS_CONFIGURED, extensions,
                DrainSettings.ISTIO_DEFAULT);
        server.validateOnly = true;
        try {
            server.init();
        } finally {
            server.close();
        }
    }

    private void init() throws ConfigException, InterruptedException {
        var sr = bootstrap.getStaticResources();
        stats.localNode(bootstrap.getNode().getId(), bootstrap.getNode().getMetadata());
        io.jmesh.proxy.telemetry.tracing.ServerTracing.register(stats, bootstrap.getNode(), bootstrap.getTracing(),
                lifecycle);
        if (bootstrap.hasStatsConfig()) {
            stats.tagExtractors(io.jmesh.proxy.telemetry.TagExtractor.fromConfig(bootstrap.getStatsConfig(),
                    "stats_config"));
        }
        ScheduledThreadPoolExecutor exec = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "jmesh-xds");
            t.setDaemon(true);
            return t;
        });
        exec.setRemoveOnCancelPolicy(true);
        xdsExecutor = exec;
        sds = new SdsSubscriptions(bootstrap, exec);
        secrets = DefaultSecretManager.create(sr.getSecretsList(), sds);
        secrets.contextCache().observe(stats);
        sds.manager(secrets);
        extensionContext = ExtensionContext.of(() -> clusters, stats, workers, lifecycle, secrets);
        // Clusters reached over a pipe (Istio's sds-grpc) serve the gRPC clients only, as in Envoy.
        List<Cluster> clusterList = new ArrayList<>();
        for (Cluster c : sr.getClustersList()) {
            if (SdsSubscriptions.isGrpcOnly(c)) {
                logger.info("cluster {}: a Unix domain socket for xDS/SDS only", c.getName());
            } else {
                clusterList.add(c);
            }
        }
        try {
            clusters = ClusterManager.create(clusterList, workers, stats, null, secrets, extensions);
        } catch (ConfigException e) {
            throw e.under("static_resources");
        }
        for (int i = 0; i < sr.getListenersCount(); i++) {
            listeners.add(ProxyListener.create(sr.getListeners(i), extensionContext, extensions,
                    "static_resources.listeners[" + i + "]", null));
        }
        String adsTarget = bootstrap.hasDynamicResources() ? AdsBootstrap.adsTarget(bootstrap) : null;
        AdsBootstrap.AdsTransport adsTransport = adsTarget == null ? null : AdsBootstrap.adsTransport(bootstrap);
        if (validateOnly) {
            return;
        }
        // use_original_dst among static listeners too (Envoy has one listener manager): a static listener hands a
        // redirected connection to the static listener of its original destination, else to an LDS one; a
        // bind_to_port: false static listener only takes such hand-offs.
        staticHandOff = HandOffTable.of(listeners);
        for (ProxyListener l : listeners) {
            l.handOffLookup(this::handOffTarget);
            if (l.config().hasBindToPort() && !l.config().getBindToPort().getValue()) {
                logger.info("listener {} (bind_to_port: false) takes connections handed off to {}", l.name(),
                        l.configuredAddress());
                continue;
            }
            if (!l.secretsReady().isDone()) {
                // Envoy's listener warming: bound once its TLS secrets have arrived.
                logger.info("listener {} warming until its TLS secrets arrive", l.name());
                l.secretsReady().thenRunAsync(() -> bindLate(l), exec);
                continue;
            }
            var f = l.bind(workers).await();
            if (!f.isSuccess()) {
                throw new ConfigException("listener " + l.name() + ": cannot bind " + hostPort(l.configuredAddress()) + ": "
                        + f.cause().getMessage());
            }
            boundStatic.add(l);
            logger.info("listener {} on {}", l.name(), l.localAddress());
        }
        if (bootstrap.hasAdmin() && bootstrap.getAdmin().hasAddress()) {
            SocketAddress sa = bootstrap.getAdmin().getAddress().getSocketAddress();
            InetSocketAddress addr = new InetSocketAddress(sa.getAddress().isEmpty() ? "127.0.0.1" : sa.getAddress(),
                    sa.getPortValue());
            admin = AdminServer.start(addr, new Admin(), workers);
            logger.info("admin on {}", admin.localAddress());
        }
        io.jmesh.proxy.filter.ratelimit.Descriptors.localServiceCluster(bootstrap.getNode().getCluster());
        if (adsTarget != null) {
            dynamic = new DynamicConfigManager(workers, stats, clusterList, () -> clusters, c -> clusters = c,
                    binding, exec, drain.drainMillis(), lifecycle, extensions, secrets, sds)
                    .drainStrategy(drain.strategy());
            dynamic.staticHandOff(staticHandOff);
            ads = new AdsClient(adsTarget, adsTransport, bootstrap.getNode(), dynamic, exec);
            dynamic.attach(ads);
            ads.start();
            logger.info("following the control plane at {} as {}", adsTarget, bootstrap.getNode().getId());
        }
        state = "LIVE";
        lifecycle.init();
    }

    /** The static listeners as hand-off targets (set once they are built). */
    private volatile HandOffTable staticHandOff = HandOffTable.EMPTY;

    /** Where a static listener with {@code use_original_dst} hands a connection: a static listener, else an LDS one. */
    private ProxyListener handOffTarget(InetSocketAddress destination) {
        ProxyListener t = staticHandOff.target(destination);
        DynamicConfigManager d = dynamic;
        return t != null || d == null ? t : d.handOffTarget(destination);
    }

    private static String hostPort(InetSocketAddress a) {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    private void bindLate(ProxyListener l) {
        if (stopped.getCount() == 0) {
            return;
        }
        var f = l.bind(workers).awaitUninterruptibly();
        if (f.isSuccess()) {
            boundStatic.add(l);
            logger.info("listener {} on {}", l.name(), l.localAddress());
        } else {
            logger.error("listener {}: cannot bind {}: {}", l.name(), l.configuredAddress(), f.cause().toString());
        }
    }

    /** The ADS client following the control plane, or null when the bootstrap has no {@code dynamic_resources}. */
    public AdsClient adsClient() {
        return ads;
    }

    /** The secret manager of this proxy (static secrets, files, SDS). */
    public SecretManager secretManager() {
        return secrets;
    }

    /** The dynamic (xDS) config of this proxy, or null when the bootstrap has no {@code dynamic_resources}. */
    public DynamicConfigManager dynamicConfig() {
        return dynamic;
    }

    public Stats stats() {
        return stats;
    }

    public ClusterManager clusterManager() {
        return clusters;
    }

    /** Bound listener addresses by listener name: static ones in config order, then those from LDS. */
    public Map<String, InetSocketAddress> listenerAddresses() {
        Map<String, InetSocketAddress> out = new LinkedHashMap<>();
        for (ProxyListener l : listeners) {
            if (boundStatic.contains(l)) {
                out.put(l.name(), l.localAddress());
            }
        }
        if (dynamic != null) {
            out.putAll(dynamic.listenerAddresses());
        }
        return out;
    }

    private List<ProxyListener> allListeners() {
        List<ProxyListener> all = new ArrayList<>(boundStatic);
        if (dynamic != null) {
            all.addAll(dynamic.boundListeners());
        }
        return all;
    }

    public InetSocketAddress adminAddress() {
        return admin == null ? null : admin.localAddress();
    }

    public String state() {
        return state;
    }

    /**
     * pilot-agent's readiness ({@code /healthz/ready}): null when the server is LIVE and, when it follows a control
     * plane, has applied its first CDS and LDS updates; otherwise why it is not ready, in Istio's words.
     */
    public String notReady() {
        if (!"LIVE".equals(state)) {
            return "server is not live, current state is: " + state;
        }
        if (ads == null) {
            return null;
        }
        var c = stats.counterValues();
        long cds = c.getOrDefault("cluster_manager.cds.update_success", 0L);
        long lds = c.getOrDefault("listener_manager.lds.update_success", 0L);
        if (cds > 0 && lds > 0) {
            return null;
        }
        return "config not received from XDS server (is the control plane running?): cds updates: " + cds
                + " successful, " + c.getOrDefault("cluster_manager.cds.update_rejected", 0L) + " rejected; lds updates: "
                + lds + " successful, " + c.getOrDefault("listener_manager.lds.update_rejected", 0L) + " rejected";
    }

    /** Runs when /quitquitquit is called (the CLI exits the process). */
    public void onQuit(Runnable r) {
        this.onQuit = r;
    }

    /**
     * Envoy's drain sequence: stop accepting, ask connections to finish (HTTP/1.1 {@code connection:
     * close}, HTTP/2 GOAWAY), wait up to {@code drainMillis} for them to close, then close the rest.
     */
    public void drainAndClose(long drainMillis) {
        state = "DRAINING";
        lifecycle.drain();
        List<ProxyListener> all = allListeners();
        for (ProxyListener l : all) {
            l.drain();
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(drainMillis);
        while (System.nanoTime() < deadline && all.stream().anyMatch(l -> l.activeConnections() > 0)) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        close();
    }

    /** Blocks until {@link #close()} has run. */
    public void awaitTermination() throws InterruptedException {
        stopped.await();
    }

    @Override
    public void close() {
        if (stopped.getCount() == 0) {
            return;
        }
        state = "TERMINATED";
        if (ads != null) {
            ads.close();
        }
        if (sds != null) {
            sds.close();
        }
        if (secrets != null) {
            secrets.close();
        }
        if (xdsExecutor != null) {
            DynamicConfigManager d = dynamic;
            if (d != null) {
                xdsExecutor.execute(d::closeAll);
            }
            try {
                if (ads != null && !ads.awaitClosed(2, TimeUnit.SECONDS)) {
                    logger.warn("the xDS channel did not close within 2 s; stopping anyway");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            xdsExecutor.shutdown();
            try {
                if (!xdsExecutor.awaitTermination(5, TimeUnit.SECONDS)) {
                    xdsExecutor.shutdownNow();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                xdsExecutor.shutdownNow();
            }
        }
        for (ProxyListener l : listeners) {
            l.close();
        }
        if (admin != null) {
            admin.close();
        }
        if (clusters != null) {
            clusters.close();
        }
        lifecycle.shutdown();
        AccessLogs.flush();
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        stopped.countDown();
    }

    ConfigDump configDump() {
        Timestamp now = Timestamp.newBuilder().setSeconds(System.currentTimeMillis() / 1000).build();
        BootstrapConfigDump b = BootstrapConfigDump.newBuilder().setBootstrap(bootstrap).setLastUpdated(now).build();
        ClustersConfigDump.Builder c = ClustersConfigDump.newBuilder();
        for (Cluster cl : bootstrap.getStaticResources().getClustersList()) {
            c.addStaticClusters(ClustersConfigDump.StaticCluster.newBuilder().setCluster(Any.pack(cl)).setLastUpdated(now));
        }
        ListenersConfigDump.Builder l = ListenersConfigDump.newBuilder();
        for (Listener li : bootstrap.getStaticResources().getListenersList()) {
            l.addStaticListeners(ListenersConfigDump.StaticListener.newBuilder().setListener(Any.pack(li)).setLastUpdated(now));
        }
        RoutesConfigDump.Builder r = RoutesConfigDump.newBuilder();
        DynamicConfigManager d = dynamic;
        if (d != null) {
            d.dumpClusters().values().forEach(e -> c.addDynamicActiveClusters(ClustersConfigDump.DynamicCluster.newBuilder()
                    .setVersionInfo(e.version()).setCluster(Any.pack(e.resource())).setLastUpdated(e.lastUpdated())));
            d.dumpListeners().forEach((name, e) -> l.addDynamicListeners(ListenersConfigDump.DynamicListener.newBuilder()
                    .setName(name).setActiveState(ListenersConfigDump.DynamicListenerState.newBuilder()
                            .setVersionInfo(e.version()).setListener(Any.pack(e.resource())).setLastUpdated(e.lastUpdated()))));
            d.dumpRoutes().values().forEach(e -> r.addDynamicRouteConfigs(RoutesConfigDump.DynamicRouteConfig.newBuilder()
                    .setVersionInfo(e.version()).setRouteConfig(Any.pack(e.resource())).setLastUpdated(e.lastUpdated())));
        }
        return ConfigDump.newBuilder()
                .addConfigs(Any.pack(b))
                .addConfigs(Any.pack(c.build()))
                .addConfigs(Any.pack(l.build()))
                .addConfigs(Any.pack(r.build()))
                .addConfigs(Any.pack(secrets.configDump()))
                .build();
    }

    /** Envoy's /clusters text: {@code cluster::host::stat::value} lines. */
    String clustersText() {
        StringBuilder sb = new StringBuilder();
        ClusterManager cm = clusters;
        if (cm == null) {
            return "";
        }
        for (UpstreamCluster c : cm.clusters()) {
            String n = c.name();
            sb.append(n).append("::observability_name::").append(n).append('\n');
            for (Host h : c.hosts()) {
                String p = n + "::" + h.addressString() + "::";
                sb.append(p).append("cx_active::").append(h.stats().cxActive()).append('\n');
                sb.append(p).append("rq_active::").append(h.activeRequests()).append('\n');
                sb.append(p).append("rq_total::").append(h.stats().rqTotal()).append('\n');
                sb.append(p).append("rq_success::").append(h.stats().rqSuccess()).append('\n');
                sb.append(p).append("rq_error::").append(h.stats().rqError()).append('\n');
                sb.append(p).append("weight::").append(h.weight()).append('\n');
                sb.append(p).append("health_flags::").append(h.healthFlags()).append('\n');
                sb.append(p).append("priority::").append(h.priority()).append('\n');
            }
        }
        return sb.toString();
    }

    private final class Admin implements AdminContext {
        @Override
        public Stats stats() {
            return stats;
        }

        @Override
        public Message configDump() {
            return ProxyServer.this.configDump();
        }

        @Override
        public String clustersText() {
            return ProxyServer.this.clustersText();
        }

        @Override
        public String serverState() {
            return state;
        }

        @Override
        public long uptimeSeconds() {
            return (System.currentTimeMillis() - startMillis) / 1000;
        }

        @Override
        public String version() {
            return VERSION;
        }

        @Override
        public void setHealthCheckFailed(boolean failed) {
            healthCheckFailed = failed;
            lifecycle.healthCheckFailed(failed);
        }

        @Override
        public boolean healthCheckFailed() {
            return healthCheckFailed;
        }

        @Override
        public void quit() {
            onQuit.run();
        }
    }
}
