package io.jmesh.discovery.registry.zookeeper;

import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.registry.ServiceRegistry;
import io.jmesh.discovery.registry.rpc.ProviderUrl;
import io.jmesh.discovery.registry.rpc.RpcServiceMapper;
import io.jmesh.discovery.registry.rpc.RpcServiceMapper.Catalog;
import io.jmesh.discovery.registry.rpc.RpcServiceMapper.Provider;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Services and endpoints from the provider nodes that Dubbo and SOFARPC write into ZooKeeper:
 * <pre>
 * /dubbo/&lt;interface&gt;/providers/&lt;URL-encoded dubbo://host:port/&lt;interface&gt;?application=..&amp;version=..&amp;group=..&gt;
 * /sofa-rpc/&lt;interface&gt;/providers/&lt;URL-encoded bolt://host:port?version=..&amp;uniqueId=..&amp;appName=..&gt;
 * </pre>
 * The interface is the path segment under the root; the mapping to hosts, ports and labels is
 * {@link RpcServiceMapper}'s. Other nodes ({@code consumers}, {@code configurators},
 * {@code routers}, Dubbo 3's {@code /services/<app>}) are ignored.
 *
 * <p>Each root is watched with a Curator {@link CuratorCache} (ZooKeeper persistent recursive
 * watches, so the server must be 3.6 or newer); a change reaches listeners about
 * {@link #COALESCE} after ZooKeeper reports it, several changes at once in one call. A provider
 * whose ephemeral node goes away (its session ended) is removed.
 *
 * <p>Availability: the constructor never blocks nor fails on an unreachable ZooKeeper. The client
 * keeps connecting in the background (logged at WARN, at most once a minute) and, meanwhile, the
 * registry is empty, so discovery serves what the other registries have. When a connection is
 * lost later, the last known services and endpoints are kept (and {@link #status()} says so)
 * until ZooKeeper is back and the caches have re-read the tree.
 *
 * <p>Thread-safety: all methods may be called from any thread; listeners are called on the
 * registry's own thread.
 */
public final class ZookeeperServiceRegistry implements ServiceRegistry {

    private static final Logger logger = LoggerFactory.getLogger(ZookeeperServiceRegistry.class);

    /** Dubbo's root ({@code /} + the registry group, {@code dubbo} by default) and SOFARPC's. */
    public static final List<String> DEFAULT_ROOTS = List.of("/dubbo", "/sofa-rpc");

    /** The ZooKeeper session timeout used by {@link #ZookeeperServiceRegistry(String)}. */
    public static final Duration DEFAULT_SESSION_TIMEOUT = Duration.ofSeconds(30);

    /** How long changes are gathered before listeners are told. */
    public static final Duration COALESCE = Duration.ofMillis(20);

    private static final Duration UNREACHABLE_LOG_INTERVAL = Duration.ofMinutes(1);

    /**
     * The connection as last seen.
     *
     * @param connected whether the client is connected now
     * @param since     when it became so
     * @param detail    a short explanation for people ({@code /debug/registryz}, logs)
     */
    public record Status(boolean connected, Instant since, String detail) {}

    private final String connectString;
    private final List<String> roots;
    private final CuratorFramework client;
    private final List<CuratorCache> caches = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService executor;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private final AtomicBoolean rebuildPending = new AtomicBoolean();
    private final AtomicBoolean cachesStarted = new AtomicBoolean();
    private final long startNanos = System.nanoTime();
    private volatile Catalog catalog = Catalog.EMPTY;
    private volatile Status status;
    private volatile long lastUnreachableLogNanos;
    private volatile boolean closed;

    /**
     * Watches Dubbo's and SOFARPC's roots on {@code connectString} ({@code host:port[,host:port...]}).
     * Returns at once; see the class comment for an unreachable ZooKeeper.
     */
    public ZookeeperServiceRegistry(String connectString) {
        this(connectString, DEFAULT_ROOTS, DEFAULT_SESSION_TIMEOUT);
    }

    /**
     * Watches {@code roots} (absolute paths such as {@code /dubbo}) on {@code connectString}.
     *
     * @param sessionTimeout the ZooKeeper session timeout; a lost connection is reported as such
     *                       (and endpoints are kept) from the first disconnection, whatever it is
     */
    public ZookeeperServiceRegistry(String connectString, List<String> roots, Duration sessionTimeout) {
        this.connectString = Objects.requireNonNull(connectString, "connectString");
        this.roots = List.copyOf(roots);
        for (String root : this.roots) {
            if (!root.startsWith("/") || root.length() < 2 || root.endsWith("/")) {
                throw new IllegalArgumentException("roots: " + root + " (expected: an absolute path such as /dubbo)");
            }
        }
        this.status = new Status(false, Instant.now(), "connecting to " + connectString);
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "zookeeper-registry-" + connectString);
            t.setDaemon(true);
            return t;
        });
        int sessionMs = (int) sessionTimeout.toMillis();
        this.client = CuratorFrameworkFactory.builder()
                .connectString(connectString)
                .sessionTimeoutMs(sessionMs)
                .connectionTimeoutMs(Math.min(sessionMs, 5_000))
                .retryPolicy(new ExponentialBackoffRetry(200, 10, 2_000))
                .build();
        client.getConnectionStateListenable().addListener((c, state) -> onConnectionState(state));
        client.start();
        executor.scheduleWithFixedDelay(this::logIfUnreachable, 5, 5, TimeUnit.SECONDS);
    }

    @Override
    public String name() {
        return "zookeeper://" + connectString;
    }

    /** Returns the ZooKeeper connect string. */
    public String connectString() {
        return connectString;
    }

    /** Returns the state of the connection to ZooKeeper. */
    public Status status() {
        return status;
    }

    @Override
    public List<Service> services() {
        return catalog.services();
    }

    @Override
    public List<Endpoint> endpoints() {
        return catalog.endpoints();
    }

    @Override
    public void addListener(Listener listener) {
        listeners.add(listener);
    }

    /** Stops watching and closes the ZooKeeper client. */
    @Override
    public void close() {
        closed = true;
        executor.shutdownNow();
        caches.forEach(CuratorCache::close);
        client.close();
    }

    private void onConnectionState(ConnectionState state) {
        if (closed) {
            return;
        }
        switch (state) {
            case CONNECTED -> {
                status = new Status(true, Instant.now(), "connected");
                logger.info("{}: connected; watching {}", name(), roots);
                startCaches();
            }
            case RECONNECTED -> {
                status = new Status(true, Instant.now(), "connected");
                logger.info("{}: reconnected", name());
                scheduleRebuild();
            }
            case SUSPENDED, LOST -> {
                Catalog c = catalog;
                status = new Status(false, Instant.now(), "connection " + (state == ConnectionState.LOST ? "lost"
                        : "suspended") + "; keeping the last known " + c.services().size() + " services and "
                        + c.endpoints().size() + " endpoints");
                logger.warn("{}: {}", name(), status.detail());
            }
            default -> { }
        }
    }

    private void startCaches() {
        if (!cachesStarted.compareAndSet(false, true)) {
            return;
        }
        CuratorCacheListener listener = CuratorCacheListener.builder()
                .forAll((type, oldData, data) -> scheduleRebuild())
                .forInitialized(this::scheduleRebuild)
                .build();
        for (String root : roots) {
            CuratorCache cache = CuratorCache.build(client, root);
            cache.listenable().addListener(listener);
            caches.add(cache);
            cache.start();
        }
    }

    private void logIfUnreachable() {
        Status s = status;
        long now = System.nanoTime();
        if (s.connected() || closed) {
            return;
        }
        if (lastUnreachableLogNanos == 0 || now - lastUnreachableLogNanos >= UNREACHABLE_LOG_INTERVAL.toNanos()) {
            lastUnreachableLogNanos = now;
            if (cachesStarted.get()) {
                logger.warn("{}: unreachable since {}, retrying in the background; {}", name(), s.since(),
                        s.detail());
            } else {
                logger.warn("{}: unreachable for {} s, retrying in the background; serving the other registries",
                        name(), TimeUnit.NANOSECONDS.toSeconds(now - startNanos));
            }
        }
    }

    private void scheduleRebuild() {
        if (closed || !rebuildPending.compareAndSet(false, true)) {
            return;
        }
        try {
            executor.schedule(this::rebuild, COALESCE.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            rebuildPending.set(false); // closed meanwhile
        }
    }

    private void rebuild() {
        rebuildPending.set(false);
        try {
            List<Provider> providers = new ArrayList<>();
            for (int i = 0; i < caches.size(); i++) {
                String root = roots.get(i);
                caches.get(i).stream().forEach(node -> addProvider(root, node, providers));
            }
            Catalog next = RpcServiceMapper.build(providers, name());
            if (!next.equals(catalog)) {
                catalog = next;
                logger.debug("{}: {} services, {} endpoints", name(), next.services().size(),
                        next.endpoints().size());
                for (Listener l : listeners) {
                    l.onChange(this);
                }
            }
        } catch (RuntimeException e) {
            logger.warn("{}: cannot rebuild services, keeping the last ones", name(), e);
        }
    }

    /** Adds the provider of {@code node} if it is {@code <root>/<interface>/providers/<url>}. */
    private void addProvider(String root, ChildData node, List<Provider> out) {
        String path = node.getPath();
        if (!path.startsWith(root + "/")) {
            return;
        }
        String[] parts = path.substring(root.length() + 1).split("/", -1);
        if (parts.length != 3 || !parts[1].equals("providers") || parts[0].isEmpty()) {
            return;
        }
        try {
            ProviderUrl url = ProviderUrl.parse(URLDecoder.decode(parts[2], StandardCharsets.UTF_8));
            out.add(new Provider(parts[0], url));
        } catch (IllegalArgumentException e) {
            logger.debug("{}: skipping {}: {}", name(), path, e.getMessage());
        }
    }
}
