package io.jmesh.proxy.xds;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Timestamp;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.listener.HandOffTable;
import io.jmesh.proxy.listener.ProxyListener;
import io.jmesh.proxy.network.http.HttpConnectionManagerConfig;
import io.jmesh.proxy.router.RouteTable;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.tls.SecretManager;
import io.jmesh.proxy.upstream.ClusterManager;
import io.jmesh.proxy.upstream.UpstreamCluster;
import io.netty.channel.EventLoopGroup;

/**
 * Turns ADS responses into the proxy's running config, as Envoy's listener and cluster managers do: every
 * response is validated and built whole first (a bad resource rejects the response, the previous config
 * keeps serving), then swapped in.
 *
 * <ul>
 *   <li>CDS: a new {@link ClusterManager} carries over unchanged clusters; new EDS clusters warm until their
 *       {@code ClusterLoadAssignment} arrives (at most {@link #INITIAL_FETCH_TIMEOUT_MILLIS}), then the manager
 *       is swapped in and the old one's removed clusters retired.</li>
 *   <li>EDS: {@link UpstreamCluster#updateLoadAssignment}.</li>
 *   <li>LDS: listeners are built and applied once the clusters have warmed and the RDS route configurations
 *       they name have arrived (each wait at most {@link #INITIAL_FETCH_TIMEOUT_MILLIS}): an unchanged listener is left alone, a changed one at the same address is updated in place
 *       ({@link ProxyListener#replaceFilterChain}), a removed one stops accepting and drains (closed when
 *       its connections are gone, or after the drain time).</li>
 *   <li>RDS: {@link HttpConnectionManagerConfig#setRouteTable} on every HCM following that name.</li>
 * </ul>
 *
 * <p>Threading: {@link #onResources} runs on the xDS thread only; the read methods ({@link #boundListeners},
 * {@link #dumpClusters} ...) are thread-safe and return immutable snapshots.
 */
public final class DynamicConfigManager implements AdsClient.ResourceHandler {

    private static final Logger logger = LoggerFactory.getLogger(DynamicConfigManager.class);

    public static final String CLUSTER_TYPE = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
    public static final String ENDPOINT_TYPE = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
    public static final String LISTENER_TYPE = "type.googleapis.com/envoy.config.listener.v3.Listener";
    public static final String ROUTE_TYPE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";

    /** Envoy's default {@code initial_fetch_timeout}: how long a new EDS cluster waits for its endpoints. */
    public static final long INITIAL_FETCH_TIMEOUT_MILLIS = 15_000;

    /** A resource as shown in /config_dump. */
    public record DumpEntry(String version, Message resource, Timestamp lastUpdated) {}

    /** A listener as bound here (after {@link ListenerBinding#expand}), and its socket. */
    private record Active(Listener effective, ProxyListener bound) {}

    private final EventLoopGroup workers;
    private final Stats stats;
    private final List<Cluster> staticClusters;
    private final Supplier<ClusterManager> current;
    private final Consumer<ClusterManager> install;
    private final ListenerBinding binding;
    private final ScheduledExecutorService executor;
    /** Envoy's --drain-time-s (from the constructor) and --drain-strategy ({@link #drainStrategy}). */
    private volatile io.jmesh.proxy.network.DrainSettings drainSettings;
    private final io.jmesh.proxy.extension.ExtensionContext extensionContext;
    private final io.jmesh.proxy.extension.ExtensionRegistry extensions;
    private final SecretManager secrets;
    private final SdsSubscriptions sds;
    private AdsClient client;

    private ClusterManager pending;
    private Set<String> awaitingEds = Set.of();
    private ScheduledFuture<?> warmingTimeout;
    private Map<String, Built> pendingListeners;
    private ScheduledFuture<?> listenersTimeout;
    private final Map<String, ClusterLoadAssignment> assignments = new HashMap<>();
    private final Map<String, RouteTable> routes = new HashMap<>();
    private final Map<String, Active> listeners = new LinkedHashMap<>();
    private final List<ProxyListener> draining = new ArrayList<>();

    private volatile Map<String, DumpEntry> clusterDump = Map.of();
    private volatile Map<String, DumpEntry> listenerDump = Map.of();
    private volatile Map<String, DumpEntry> routeDump = Map.of();
    private volatile List<ProxyListener> bound = List.of();
    /** Active listeners (bound or taking hand-offs only) by configured address, for {@code use_original_dst}. */
    private volatile HandOffTable handOffTable = HandOffTable.EMPTY;
    private final Counter cdsUpdate;
    private final Counter cdsRejected;
    private final Counter ldsUpdate;
    private final Counter ldsRejected;
    private final Counter rdsRejected;

    private record Built(Listener effective, ProxyListener listener) {}

    /**
     * @param staticClusters the bootstrap's static clusters, kept in every cluster set
     * @param current        the cluster manager serving now (read by listeners on every request)
     * @param install        makes a cluster manager the serving one (a volatile write)
     * @param executor       the xDS thread (single-threaded)
     * @param drainMillis    how long the connections of a removed or updated listener may take to finish
     *                       (Envoy's {@code --drain-time-s}); those still open then are closed
     */
    public DynamicConfigManager(EventLoopGroup workers, Stats stats, List<Cluster> staticClusters,
                                Supplier<ClusterManager> current, Consumer<ClusterManager> install,
                                ListenerBinding binding, ScheduledExecutorService executor, long drainMillis) {
        this(workers, stats, staticClusters, current, install, binding, executor, drainMillis,
                SecretManager.none(), null);
    }

    /** As the first constructor, with TLS secrets (see below) and the default extensions. */
    public DynamicConfigManager(EventLoopGroup workers, Stats stats, List<Cluster> staticClusters,
                                Supplier<ClusterManager> current, Consumer<ClusterManager> install,
                                ListenerBinding binding, ScheduledExecutorService executor, long drainMillis,
                                SecretManager secrets, SdsSubscriptions sds) {
        this(workers, stats, staticClusters, current, install, binding, executor, drainMillis,
                io.jmesh.proxy.extension.ServerLifecycle.NONE, io.jmesh.proxy.extension.ExtensionRegistry.loadDefault(),
                secrets, sds);
    }

    /**
     * As above, with the server's lifecycle, the extensions LDS listeners are built with, and TLS secrets for
     * listeners and clusters from {@code secrets}; secrets over ADS arrive through {@code sds} (null: an ADS
     * response of secrets is rejected). Clusters and listeners whose secrets have not arrived warm as EDS
     * clusters and RDS listeners do.
     */
    public DynamicConfigManager(EventLoopGroup workers, Stats stats, List<Cluster> staticClusters,
                                Supplier<ClusterManager> current, Consumer<ClusterManager> install,
                                ListenerBinding binding, ScheduledExecutorService executor, long drainMillis,
                                io.jmesh.proxy.extension.ServerLifecycle lifecycle,
                                io.jmesh.proxy.extension.ExtensionRegistry extensions,
                                SecretManager secrets, SdsSubscriptions sds) {
        this.extensionContext = io.jmesh.proxy.extension.ExtensionContext.of(current, stats, workers, lifecycle,
                secrets);
        this.extensions = extensions;
        this.secrets = secrets;
        this.sds = sds;
        this.workers = workers;
        this.stats = stats;
        this.staticClusters = List.copyOf(staticClusters);
        this.current = current;
        this.install = install;
        this.binding = binding;
        this.executor = executor;
        this.drainSettings = new io.jmesh.proxy.network.DrainSettings(drainMillis,
                io.jmesh.proxy.network.DrainSettings.Strategy.IMMEDIATE);
        this.cdsUpdate = stats.counter("cluster_manager.cds.update_success");
        this.cdsRejected = stats.counter("cluster_manager.cds.update_rejected");
        this.ldsUpdate = stats.counter("listener_manager.lds.update_success");
        this.ldsRejected = stats.counter("listener_manager.lds.update_rejected");
        this.rdsRejected = stats.counter("http.rds.update_rejected");
    }

    /** Connects this manager to its client (for EDS and RDS subscriptions) and subscribes CDS and LDS. */
    public void attach(AdsClient client) {
        executor.execute(() -> {
            this.client = client;
            client.subscribe(CLUSTER_TYPE, Set.of());
            client.subscribe(LISTENER_TYPE, Set.of());
            if (sds != null) {
                sds.attachAds(client);
            }
        });
    }

    @Override
    public void onResources(String typeUrl, String version, List<Any> resources) throws ConfigException {
        try {
            switch (typeUrl) {
                case CLUSTER_TYPE -> onClusters(version, resources);
                case ENDPOINT_TYPE -> onEndpoints(resources);
                case LISTENER_TYPE -> onListeners(version, resources);
                case ROUTE_TYPE -> onRoutes(version, resources);
                case SdsSubscriptions.SECRET_TYPE -> {
                    if (sds == null) {
                        throw new ConfigException("type_url: " + typeUrl + " (expected: CDS, EDS, LDS or RDS)");
                    }
                    sds.onAdsSecrets(resources);
                    // Whatever waited for these secrets goes live before the ACK.
                    maybeActivate();
                    maybeApplyListeners(false);
                }
                default -> throw new ConfigException("type_url: " + typeUrl + " (expected: CDS, EDS, LDS, RDS or SDS)");
            }
        } catch (ConfigException e) {
            switch (typeUrl) {
                case CLUSTER_TYPE -> cdsRejected.inc();
                case LISTENER_TYPE -> ldsRejected.inc();
                case ROUTE_TYPE -> rdsRejected.inc();
                default -> { }
            }
            throw e;
        }
    }

    private static <T extends Message> List<T> unpack(List<Any> resources, Class<T> type) throws ConfigException {
        List<T> out = new ArrayList<>(resources.size());
        for (int i = 0; i < resources.size(); i++) {
            try {
                out.add(resources.get(i).unpack(type));
            } catch (InvalidProtocolBufferException e) {
                throw new ConfigException("resources[" + i + "]: " + resources.get(i).getTypeUrl() + " ("
                        + e.getMessage() + ")");
            }
        }
        return out;
    }

    private static Timestamp now() {
        long ms = System.currentTimeMillis();
        return Timestamp.newBuilder().setSeconds(ms / 1000).setNanos((int) (ms % 1000) * 1_000_000).build();
    }

    // ---------------------------------------------------------------- CDS / EDS

    private void onClusters(String version, List<Any> resources) throws ConfigException {
        List<Cluster> dynamic = unpack(resources, Cluster.class);
        Set<String> staticNames = new HashSet<>();
        staticClusters.forEach(c -> staticNames.add(c.getName()));
        List<Cluster> all = new ArrayList<>(staticClusters);
        for (int i = 0; i < dynamic.size(); i++) {
            if (staticNames.contains(dynamic.get(i).getName())) {
                throw new ConfigException("resources[" + i + "].name: " + dynamic.get(i).getName()
                        + " (expected: not the name of a static cluster)");
            }
            all.add(dynamic.get(i));
        }
        ClusterManager serving = current.get();
        ClusterManager basis = pending != null ? pending : serving;
        ClusterManager next;
        try {
            next = ClusterManager.create(all, workers, stats, basis, secrets, extensions);
        } catch (ConfigException e) {
            throw renumber(e, staticClusters.size());
        }
        Set<String> awaiting = new TreeSet<>();
        Set<String> edsNames = new TreeSet<>();
        for (UpstreamCluster c : next.clusters()) {
            if (c.type() != Cluster.DiscoveryType.EDS) {
                continue;
            }
            String serviceName = edsName(c.config());
            edsNames.add(serviceName);
            if (serving != null && serving.get(c.name()) == c) {
                continue; // serving already, with its endpoints
            }
            ClusterLoadAssignment cla = assignments.get(serviceName);
            if (cla == null) {
                awaiting.add(serviceName);
            } else if (basis == null || basis.get(c.name()) != c) {
                try {
                    c.updateLoadAssignment(cla);
                } catch (ConfigException e) {
                    logger.warn("cluster {}: cached endpoints rejected: {}", c.name(), e.getMessage());
                }
            }
        }
        if (pending != null) {
            pending.retireReplaced(next, workers);
        }
        Timestamp now = now();
        Map<String, DumpEntry> dump = new LinkedHashMap<>();
        for (Cluster c : dynamic) {
            DumpEntry old = clusterDump.get(c.getName());
            dump.put(c.getName(), old != null && old.resource().equals(c) ? old : new DumpEntry(version, c, now));
        }
        clusterDump = Map.copyOf(dump);
        cdsUpdate.inc();
        logger.info("CDS version {}: {} clusters ({} awaiting endpoints)", version, dynamic.size(), awaiting.size());
        if (client != null) {
            client.subscribe(ENDPOINT_TYPE, edsNames);
        }
        List<String> awaitingTls = new ArrayList<>();
        for (UpstreamCluster c : next.clusters()) {
            if (!c.tlsReady().isDone()) {
                awaitingTls.add(c.name());
                ClusterManager warmingTls = next;
                c.tlsReady().thenRun(() -> executor.execute(() -> {
                    if (pending == warmingTls) {
                        maybeActivate();
                    }
                }));
            }
        }
        if (!awaitingTls.isEmpty()) {
            logger.info("clusters {} warming until their TLS secrets arrive", awaitingTls);
        }
        if (awaiting.isEmpty() && awaitingTls.isEmpty()) {
            activate(next);
        } else {
            pending = next;
            awaitingEds = awaiting;
            if (warmingTimeout != null) {
                warmingTimeout.cancel(false);
            }
            ClusterManager warming = next;
            warmingTimeout = executor.schedule(() -> {
                if (pending == warming && warming.clusters().stream().anyMatch(UpstreamCluster::tlsAwaitsWithoutDeadline)) {
                    logger.info("clusters still warming: a TLS secret with initial_fetch_timeout 0s is awaited");
                } else if (pending == warming) {
                    logger.warn("clusters {} got no endpoints or secrets within {} ms; activating them as they are",
                            awaitingEds, INITIAL_FETCH_TIMEOUT_MILLIS);
                    activate(warming);
                }
            }, INITIAL_FETCH_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    private static ConfigException renumber(ConfigException e, int staticCount) {
        String m = e.getMessage();
        if (m.startsWith("clusters[")) {
            int end = m.indexOf(']');
            try {
                int i = Integer.parseInt(m.substring("clusters[".length(), end));
                return new ConfigException("resources[" + (i - staticCount) + "]" + m.substring(end + 1), e.getCause());
            } catch (NumberFormatException ignored) {
                // keep the message
            }
        }
        return e;
    }

    private static String edsName(Cluster c) {
        String s = c.getEdsClusterConfig().getServiceName();
        return s.isEmpty() ? c.getName() : s;
    }

    /** Activates the pending clusters once every EDS assignment and TLS secret they wait for is here. */
    private void maybeActivate() {
        if (pending == null || !awaitingEds.isEmpty()) {
            return;
        }
        for (UpstreamCluster c : pending.clusters()) {
            if (!c.tlsReady().isDone()) {
                return;
            }
        }
        activate(pending);
    }

    private void activate(ClusterManager next) {
        ClusterManager previous = current.get();
        install.accept(next);
        pending = null;
        awaitingEds = Set.of();
        if (warmingTimeout != null) {
            warmingTimeout.cancel(false);
            warmingTimeout = null;
        }
        if (previous != null && previous != next) {
            List<UpstreamCluster> gone = previous.retireReplaced(next, workers);
            if (!gone.isEmpty()) {
                logger.info("clusters removed or replaced: {}", gone.stream().map(UpstreamCluster::name).toList());
            }
        }
        maybeApplyListeners(false);
    }

    /**
     * Applies the listeners waiting for warming once the clusters are in and every RDS route configuration they
     * use has arrived (Envoy's listener warming), or at once when {@code force}d by the initial fetch timeout.
     */
    private void maybeApplyListeners(boolean force) {
        if (pendingListeners == null || pending != null) {
            return;
        }
        if (!force) {
            for (Built b : pendingListeners.values()) {
                if (warming(b.listener)) {
                    if (listenersTimeout == null) {
                        Map<String, Built> waiting = pendingListeners;
                        listenersTimeout = executor.schedule(() -> {
                            listenersTimeout = null;
                            if (pendingListeners == waiting && waiting.values().stream().anyMatch(
                                    w -> w.listener != null && w.listener.secretsAwaitedWithoutDeadline())) {
                                logger.info("listeners still warming: a TLS secret with initial_fetch_timeout 0s "
                                        + "is awaited");
                            } else if (pendingListeners == waiting) {
                                logger.warn("listeners still warming after {} ms; activating them",
                                        INITIAL_FETCH_TIMEOUT_MILLIS);
                                maybeApplyListeners(true);
                            }
                        }, INITIAL_FETCH_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
                    }
                    return;
                }
            }
        }
        if (listenersTimeout != null) {
            listenersTimeout.cancel(false);
            listenersTimeout = null;
        }
        Map<String, Built> l = pendingListeners;
        pendingListeners = null;
        applyListeners(l);
    }

    /**
     * Whether {@code l} waits for an RDS route configuration or a TLS secret; when a secret is what it waits for,
     * its arrival re-runs {@link #maybeApplyListeners}.
     */
    private boolean warming(ProxyListener l) {
        if (l == null) {
            return false;
        }
        for (HttpConnectionManagerConfig h : l.httpConfigs()) {
            if (h.rdsRouteName() != null && !routes.containsKey(h.rdsRouteName())) {
                return true;
            }
        }
        var tls = l.secretsReady();
        if (!tls.isDone()) {
            tls.thenRun(() -> executor.execute(() -> maybeApplyListeners(false)));
            return true;
        }
        return false;
    }

    private void onEndpoints(List<Any> resources) throws ConfigException {
        List<ClusterLoadAssignment> list = unpack(resources, ClusterLoadAssignment.class);
        ClusterManager target = pending != null ? pending : current.get();
        Map<String, List<UpstreamCluster>> byServiceName = new HashMap<>();
        if (target != null) {
            for (UpstreamCluster c : target.clusters()) {
                if (c.type() == Cluster.DiscoveryType.EDS) {
                    byServiceName.computeIfAbsent(edsName(c.config()), k -> new ArrayList<>()).add(c);
                }
            }
        }
        for (int i = 0; i < list.size(); i++) {
            ClusterLoadAssignment cla = list.get(i);
            if (cla.getClusterName().isEmpty()) {
                throw new ConfigException("resources[" + i + "].cluster_name: \"\" (expected: a cluster name)");
            }
            try {
                ClusterManager.validateLoadAssignment(cla);
            } catch (ConfigException e) {
                throw e.under("resources[" + i + "]");
            }
        }
        for (int i = 0; i < list.size(); i++) {
            ClusterLoadAssignment cla = list.get(i);
            for (UpstreamCluster c : byServiceName.getOrDefault(cla.getClusterName(), List.of())) {
                try {
                    c.updateLoadAssignment(cla);
                } catch (ConfigException e) {
                    throw e.under("resources[" + i + "]");
                }
            }
            assignments.put(cla.getClusterName(), cla);
        }
        if (pending != null) {
            Set<String> still = new TreeSet<>(awaitingEds);
            list.forEach(cla -> still.remove(cla.getClusterName()));
            awaitingEds = still;
            maybeActivate();
        }
    }

    // ---------------------------------------------------------------- LDS / RDS

    private void onListeners(String version, List<Any> resources) throws ConfigException {
        List<Listener> list = unpack(resources, Listener.class);
        Map<String, Built> built = new LinkedHashMap<>();
        Set<String> rdsNames = new TreeSet<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < list.size(); i++) {
            Listener l = list.get(i);
            if (l.getName().isEmpty()) {
                throw new ConfigException("resources[" + i + "].name: \"\" (expected: a listener name)");
            }
            if (!names.add(l.getName())) {
                throw new ConfigException("resources[" + i + "].name: " + l.getName() + " (expected: a unique name)");
            }
            for (Listener effective : binding.expand(l)) {
                Active old = listeners.get(effective.getName());
                if (old != null && old.effective.equals(effective)) {
                    built.put(effective.getName(), new Built(effective, old.bound));
                    addRdsName(old.bound, rdsNames);
                    continue;
                }
                ProxyListener pl = ProxyListener.create(effective, extensionContext, extensions, "resources[" + i + "]",
                        routes::get);
                addRdsName(pl, rdsNames);
                built.put(effective.getName(), new Built(effective, pl));
            }
        }
        if (client != null) {
            client.subscribe(ROUTE_TYPE, rdsNames);
        }
        Timestamp now = now();
        Map<String, DumpEntry> dump = new LinkedHashMap<>();
        for (Listener l : list) {
            DumpEntry old = listenerDump.get(l.getName());
            dump.put(l.getName(), old != null && old.resource().equals(l) ? old : new DumpEntry(version, l, now));
        }
        listenerDump = Map.copyOf(dump);
        ldsUpdate.inc();
        logger.info("LDS version {}: {} listeners", version, list.size());
        pendingListeners = built;
        if (listenersTimeout != null) {
            listenersTimeout.cancel(false);
            listenersTimeout = null;
        }
        maybeApplyListeners(false);
    }

    private static void addRdsName(ProxyListener l, Set<String> names) {
        if (l == null) {
            return;
        }
        for (HttpConnectionManagerConfig h : l.httpConfigs()) {
            if (h.rdsRouteName() != null) {
                names.add(h.rdsRouteName());
            }
        }
    }

    private void applyListeners(Map<String, Built> next) {
        for (var it = listeners.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (!next.containsKey(e.getKey())) {
                it.remove();
                if (e.getValue().bound != null) {
                    logger.info("listener {} removed: draining", e.getKey());
                    drain(e.getValue().bound);
                }
            }
        }
        for (Built b : next.values()) {
            Active old = listeners.get(b.effective.getName());
            if (old != null && old.bound == b.listener) {
                continue; // unchanged
            }
            ProxyListener pl = b.listener;
            if (old != null && old.bound != null && pl != null
                    && old.bound.config().getAddress().equals(pl.config().getAddress())) {
                // Same socket: pick up the RDS routes that arrived since it was built, then swap its filter chain.
                refreshRoutes(pl);
                old.bound.replaceFilterChain(pl, drainSettings);
                listeners.put(b.effective.getName(), new Active(b.effective, old.bound));
                logger.info("listener {} updated in place", b.effective.getName());
                continue;
            }
            if (pl != null) {
                refreshRoutes(pl);
                pl.handOffLookup(this::handOffTarget);
                if (!binding.binds(b.effective)) {
                    logger.info("listener {} (bind_to_port: false) takes connections handed off to {}", pl.name(),
                            pl.configuredAddress());
                } else {
                    var f = pl.bind(workers).awaitUninterruptibly();
                    if (!f.isSuccess()) {
                        logger.error("listener {}: cannot bind {}: {}", pl.name(), pl.configuredAddress(),
                                f.cause().toString());
                        pl = null;
                    } else {
                        logger.info("listener {} on {}", pl.name(), pl.localAddress());
                    }
                }
            }
            if (old != null && old.bound != null) {
                drain(old.bound);
            }
            listeners.put(b.effective.getName(), new Active(b.effective, pl));
        }
        List<ProxyListener> active = new ArrayList<>();
        List<ProxyListener> now = new ArrayList<>();
        for (Active a : listeners.values()) {
            if (a.bound != null) {
                active.add(a.bound);
                if (a.bound.socketBound()) {
                    now.add(a.bound);
                }
            }
        }
        bound = List.copyOf(now);
        handOffTable = HandOffTable.of(active);
    }

    /**
     * The listener a {@code use_original_dst} listener hands a connection to: {@link HandOffTable#target} among LDS
     * listeners, then among the bootstrap's static ones ({@link #staticHandOff}); null for none. Any thread; allocates
     * nothing (it runs per accepted connection).
     */
    public ProxyListener handOffTarget(InetSocketAddress destination) {
        ProxyListener l = handOffTable.target(destination);
        return l != null ? l : staticHandOff.target(destination);
    }

    /** The bootstrap's static listeners as hand-off targets, asked when no LDS listener takes a destination. */
    private volatile HandOffTable staticHandOff = HandOffTable.EMPTY;

    /** Sets where {@link #handOffTarget} looks after the LDS listeners (the proxy's static listeners). */
    public void staticHandOff(HandOffTable statics) {
        this.staticHandOff = statics;
    }

    private void refreshRoutes(ProxyListener pl) {
        for (HttpConnectionManagerConfig h : pl.httpConfigs()) {
            if (h.rdsRouteName() != null) {
                RouteTable t = routes.get(h.rdsRouteName());
                if (t != null) {
                    h.setRouteTable(t);
                }
            }
        }
    }

    /**
     * Sets Envoy's {@code --drain-strategy} for listeners updated in place from now on (default
     * {@link io.jmesh.proxy.network.DrainSettings.Strategy#IMMEDIATE}, as Istio runs Envoy). Any thread.
     */
    public DynamicConfigManager drainStrategy(io.jmesh.proxy.network.DrainSettings.Strategy strategy) {
        this.drainSettings = new io.jmesh.proxy.network.DrainSettings(drainSettings.drainMillis(),
                java.util.Objects.requireNonNull(strategy, "strategy"));
        return this;
    }

    private void drain(ProxyListener l) {
        l.drain();
        draining.add(l);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(drainSettings.drainMillis());
        Runnable[] check = new Runnable[1];
        check[0] = () -> {
            if (l.activeConnections() == 0 || System.nanoTime() >= deadline) {
                l.close();
                draining.remove(l);
            } else {
                executor.schedule(check[0], 100, TimeUnit.MILLISECONDS);
            }
        };
        executor.schedule(check[0], 100, TimeUnit.MILLISECONDS);
    }

    private void onRoutes(String version, List<Any> resources) throws ConfigException {
        List<RouteConfiguration> list = unpack(resources, RouteConfiguration.class);
        Map<String, RouteTable> tables = new LinkedHashMap<>();
        for (int i = 0; i < list.size(); i++) {
            RouteConfiguration rc = list.get(i);
            try {
                tables.put(rc.getName(), RouteTable.create(rc, extensions.httpFilters()));
            } catch (ConfigException e) {
                throw e.under("resources[" + i + "]");
            }
        }
        routes.putAll(tables);
        for (Active a : listeners.values()) {
            if (a.bound == null) {
                continue;
            }
            for (HttpConnectionManagerConfig h : a.bound.httpConfigs()) {
                if (h.rdsRouteName() != null && tables.containsKey(h.rdsRouteName())) {
                    h.setRouteTable(tables.get(h.rdsRouteName()));
                }
            }
        }
        if (pendingListeners != null) {
            pendingListeners.values().forEach(b -> {
                if (b.listener != null) {
                    refreshRoutes(b.listener);
                }
            });
        }
        maybeApplyListeners(false);
        Timestamp now = now();
        Map<String, DumpEntry> dump = new LinkedHashMap<>(routeDump);
        for (RouteConfiguration rc : list) {
            DumpEntry old = dump.get(rc.getName());
            if (old == null || !old.resource().equals(rc)) {
                dump.put(rc.getName(), new DumpEntry(version, rc, now));
            }
        }
        routeDump = Map.copyOf(dump);
        logger.info("RDS version {}: {}", version, tables.keySet());
    }

    // ---------------------------------------------------------------- views

    /** The dynamic listeners bound now, in LDS order. */
    public List<ProxyListener> boundListeners() {
        return bound;
    }

    /** Bound dynamic listener addresses by listener name. */
    public Map<String, InetSocketAddress> listenerAddresses() {
        Map<String, InetSocketAddress> out = new LinkedHashMap<>();
        for (ProxyListener l : bound) {
            out.put(l.name(), l.localAddress());
        }
        return out;
    }

    /** CDS clusters accepted last, by name, for /config_dump {@code dynamic_active_clusters}. */
    public Map<String, DumpEntry> dumpClusters() {
        return clusterDump;
    }

    /** LDS listeners accepted last, by name, for /config_dump {@code dynamic_listeners}. */
    public Map<String, DumpEntry> dumpListeners() {
        return listenerDump;
    }

    /** RDS route configurations received, by name, for /config_dump {@code dynamic_route_configs}. */
    public Map<String, DumpEntry> dumpRoutes() {
        return routeDump;
    }

    /** Closes every dynamic listener at once (after {@link #drainAll}, or at shutdown). Call on the xDS thread. */
    public void closeAll() {
        for (Active a : listeners.values()) {
            if (a.bound != null) {
                a.bound.close();
            }
        }
        draining.forEach(ProxyListener::close);
        if (pending != null) {
            pending.close();
        }
    }
}
