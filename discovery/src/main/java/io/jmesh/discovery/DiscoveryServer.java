package io.jmesh.discovery;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.ConfigSnapshot;
import io.jmesh.discovery.config.ConfigStore;
import io.jmesh.discovery.config.Credential;
import io.jmesh.discovery.config.CredentialsDirectory;
import io.jmesh.discovery.config.DirectoryConfigWatcher;
import io.jmesh.discovery.debug.MonitoringServer;
import io.jmesh.discovery.authn.JwksResolver;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.discovery.model.ResolvedJwks;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.registry.AggregateRegistry;
import io.jmesh.discovery.registry.ServiceRegistry;
import io.jmesh.discovery.registry.file.FileServiceRegistry;
import io.jmesh.discovery.server.AdsService;
import io.jmesh.discovery.server.Debouncer;
import io.jmesh.discovery.server.XdsMetrics;
import io.jmesh.security.ca.CaDirectoryWatcher;
import io.jmesh.security.ca.CaRoots;
import io.jmesh.security.ca.CertificateAuthority;
import io.jmesh.security.ca.server.Authenticator;
import io.jmesh.security.ca.server.CaTls;
import io.jmesh.security.ca.server.ClientCertAuthenticator;
import io.jmesh.security.ca.server.IstioCertificateService;
import io.jmesh.security.ca.server.TokenAuthenticator;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code jmesh discovery}: reads Istio YAML from a directory, merges it with the service
 * registries into one model, and serves each proxy its xDS over ADS, pushing changes after a
 * debounce; metrics and debug pages on the monitoring address.
 *
 * <p>The way of a change: file event → {@link DirectoryConfigWatcher} (parse, validate, reject
 * bad objects with file and line) → file registry update → {@link Debouncer} → new immutable
 * {@link MeshSnapshot} → {@link AdsService} queues a push to every connection.
 *
 * <p>{@link #start} returns once the first snapshot is built and both ports are bound. An unreadable
 * config directory or mesh config fails start; invalid objects never do (they are logged and
 * shown in {@code /debug/configz}).
 */
public final class DiscoveryServer implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(DiscoveryServer.class);

    private final DirectoryConfigWatcher watcher;
    private final AggregateRegistry registries;
    private final Debouncer debouncer;
    private final AdsService ads;
    private final Server grpc;
    private final MonitoringServer monitoring;
    private final XdsMetrics metrics;
    private final SecureCa secure;
    private volatile List<ConfigStore> configStores = List.of();

    /** The CA, its TLS server and the watcher of its directory; null parts when not configured. */
    private record SecureCa(CertificateAuthority ca, Server server, CaDirectoryWatcher caWatcher) {
        void close() {
            if (caWatcher != null) {
                caWatcher.close();
            }
            if (server != null) {
                server.shutdownNow();
                try {
                    server.awaitTermination(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }
    private volatile java.util.concurrent.ScheduledExecutorService credentialsPoller;
    private volatile JwksResolver jwksResolver;


    private DiscoveryServer(DirectoryConfigWatcher watcher, AggregateRegistry registries, Debouncer debouncer,
                            AdsService ads, Server grpc, MonitoringServer monitoring, XdsMetrics metrics,
                            SecureCa secure) {
        this.secure = secure;
        this.watcher = watcher;
        this.registries = registries;
        this.debouncer = debouncer;
        this.ads = ads;
        this.grpc = grpc;
        this.monitoring = monitoring;
        this.metrics = metrics;
    }

    /**
     * Starts discovery.
     *
     * @throws io.jmesh.proxy.config.ConfigException if the config directory or mesh config file is unusable
     * @throws java.io.IOException                    if a port cannot be bound
     */
    public static DiscoveryServer start(DiscoveryOptions options) throws Exception {
        return start(options, List.of());
    }

    /**
     * Starts discovery with {@code extraRegistries} (e.g. from
     * {@link io.jmesh.discovery.registry.Registries#fromUri}) merged after the file registry: a host
     * defined by a ServiceEntry wins over the same host from a registry, and among registries the
     * first in the list wins. Discovery owns them from here on: it closes them on {@link #close()}
     * and when start fails.
     *
     * @throws io.jmesh.proxy.config.ConfigException if the config directory or mesh config file is unusable
     * @throws java.io.IOException                    if a port cannot be bound
     */
    public static DiscoveryServer start(DiscoveryOptions options, List<ServiceRegistry> extraRegistries)
            throws Exception {
        return start(options, extraRegistries, List.of());
    }

    /** How long {@link #start} waits for registries and config stores to sync before it gives up. */
    public static final Duration SYNC_TIMEOUT = Duration.ofMinutes(2);

    /**
     * Starts discovery with {@code extraRegistries} as {@link #start(DiscoveryOptions, List)} does and Istio
     * objects from {@code configStores} (e.g. the Kubernetes API server) merged after the config directory's:
     * an object of the same {@code Kind/namespace/name} as an earlier one is rejected. Discovery owns the
     * stores too. xDS is served only once every registry and store has synced (istiod's "caches synced"):
     * {@code start} waits for that, up to {@link #SYNC_TIMEOUT}, and fails after it.
     *
     * @throws io.jmesh.proxy.config.ConfigException if the config directory or mesh config file is unusable, or
     *                                               a registry or store did not sync in time
     * @throws java.io.IOException                    if a port cannot be bound
     */
    public static DiscoveryServer start(DiscoveryOptions options, List<ServiceRegistry> extraRegistries,
                                        List<ConfigStore> configStores) throws Exception {
        return start(options, extraRegistries, configStores, List.of());
    }

    /**
     * As {@link #start(DiscoveryOptions, List, List)}, the CA also authenticating callers with
     * {@code caAuthenticators} (each made for the mesh's trust domain; e.g. Kubernetes service-account tokens), after
     * client certificates and the tokens file.
     */
    public static DiscoveryServer start(DiscoveryOptions options, List<ServiceRegistry> extraRegistries,
                                        List<ConfigStore> configStores,
                                        List<java.util.function.Function<String, Authenticator>> caAuthenticators)
            throws Exception {
        XdsMetrics metrics = new XdsMetrics();
        AdsService ads = new AdsService(metrics, Math.max(2, Runtime.getRuntime().availableProcessors()));
        FileServiceRegistry fileRegistry = new FileServiceRegistry();
        AggregateRegistry registries = new AggregateRegistry();
        registries.add(fileRegistry);
        for (ServiceRegistry r : extraRegistries) {
            registries.add(r);
        }
        AtomicLong versions = new AtomicLong();
        java.util.concurrent.atomic.AtomicReference<List<Credential>> credentials =
                new java.util.concurrent.atomic.AtomicReference<>(CredentialsDirectory.load(options.credentialsDir()));
        DirectoryConfigWatcher[] watcherRef = new DirectoryConfigWatcher[1];
        Debouncer[] debouncerRef = new Debouncer[1];
        // istiod's JwksResolver: OpenID discovery and, per PILOT_JWT_ENABLE_REMOTE_JWKS, jwksUri fetching.
        JwksResolver jwksResolver = new JwksResolver(
                ResolvedJwks.FetchMode.parse(System.getenv("PILOT_JWT_ENABLE_REMOTE_JWKS")), () -> {
                    metrics.recordTrigger("jwks");
                    debouncerRef[0].trigger();
                });
        Debouncer debouncer = new Debouncer(options.debounce(), options.debounce().multipliedBy(100)
                .compareTo(Duration.ofSeconds(10)) > 0 ? Duration.ofSeconds(10) : options.debounce().multipliedBy(100),
                firstEventNanos -> {
                    ConfigSnapshot config = merge(watcherRef[0].current(), configStores);
                    List<Service> services = registries.services();
                    ResolvedJwks jwks = jwksResolver.resolve(ResolvedJwks.wanted(config, services,
                            jwksResolver.mode()));
                    MeshSnapshot snapshot = new MeshSnapshot(versions.incrementAndGet(), config,
                            services, registries.endpoints(), credentials.get(), jwks);
                    metrics.setModelSize(snapshot.services().size(),
                            config.of(ConfigKind.VIRTUAL_SERVICE).size(), config.errors().size());
                    logger.info("pushing snapshot {}: {} services, {} objects, {} rejected", snapshot.version(),
                            snapshot.services().size(), config.configs().size(), config.errors().size());
                    ads.update(snapshot, firstEventNanos);
                });
        debouncerRef[0] = debouncer;
        registries.addListener(r -> {
            metrics.recordTrigger("endpoint");
            debouncer.trigger();
        });
        // The directory's objects or a store's changed: the directory watcher's current snapshot is the one it
        // just gave. Under the registry's lock, so that the directory's and the stores' updates apply in order.
        Runnable configChanged = () -> {
            synchronized (fileRegistry) {
                fileRegistry.update(merge(watcherRef[0].current(), configStores));
            }
            metrics.recordTrigger("config");
            debouncer.trigger();
        };
        DirectoryConfigWatcher watcher = new DirectoryConfigWatcher(options.configDir(), options.meshConfigFile(),
                Duration.ofMillis(50), DirectoryConfigWatcher.DEFAULT_RESCAN, config -> configChanged.run());
        watcherRef[0] = watcher;
        configStores.forEach(store -> store.addListener(configChanged));
        Server grpc = null;
        MonitoringServer monitoring = null;
        SecureCa secure = null;
        try {
            watcher.start();
            awaitSynced(registries, configStores);
            ConfigSnapshot first = merge(watcher.current(), configStores);
            synchronized (fileRegistry) {
                fileRegistry.update(first);
            }
            List<Service> firstServices = registries.services();
            MeshSnapshot initial = new MeshSnapshot(versions.incrementAndGet(), first, firstServices,
                    registries.endpoints(), credentials.get(), jwksResolver.resolve(ResolvedJwks.wanted(first,
                            firstServices, jwksResolver.mode())));
            metrics.setModelSize(initial.services().size(), first.of(ConfigKind.VIRTUAL_SERVICE).size(),
                    first.errors().size());
            ads.update(initial, System.nanoTime());
            NettyServerBuilder plain = NettyServerBuilder.forAddress(options.grpcAddress())
                    .addService(ads)
                    .maxInboundMessageSize(4 * 1024 * 1024);
            if (options.ca() != null) {
                secure = startSecure(options.ca(), first.meshConfig().trustDomain(), ads, caAuthenticators);
                if (options.ca().caOnPlaintext()) {
                    logger.warn("the CA also serves on the plaintext xDS address {}: tokens travel in clear text",
                            options.grpcAddress());
                    plain.addService(caService(options.ca(), secure.ca(), first.meshConfig().trustDomain(),
                            caAuthenticators));
                }
            }
            grpc = plain.build().start();
            monitoring = MonitoringServer.start(options.monitoringAddress(), ads, metrics, ads::snapshot);
            DiscoveryServer server = new DiscoveryServer(watcher, registries, debouncer, ads, grpc, monitoring,
                    metrics, secure);
            server.jwksResolver = jwksResolver;
            server.configStores = List.copyOf(configStores);
            if (options.credentialsDir() != null) {
                server.credentialsPoller = credentialsPoller(options.credentialsDir(), credentials, () -> {
                    metrics.recordTrigger("secret");
                    debouncer.trigger();
                });
            }
            logger.info("discovery: xDS on {}, xDS and CA over TLS on {}, monitoring on {}, config from {}",
                    server.grpcAddress(), server.secureGrpcAddress(), server.monitoringAddress(), options.configDir());
            return server;
        } catch (Exception e) {
            jwksResolver.close();
            registries.close();
            configStores.forEach(ConfigStore::close);
            watcher.close();
            debouncer.close();
            ads.close();
            if (grpc != null) {
                grpc.shutdownNow();
            }
            if (monitoring != null) {
                monitoring.close();
            }
            if (secure != null) {
                secure.close();
            }
            throw e;
        }
    }

    /**
     * The directory's objects followed by each store's; a later object with the key of an earlier one is
     * rejected, naming where the first came from.
     */
    static ConfigSnapshot merge(ConfigSnapshot dir, List<ConfigStore> stores) {
        if (stores.isEmpty()) {
            return dir;
        }
        ConfigSnapshot.Builder merged = new ConfigSnapshot.Builder().add(dir);
        stores.forEach(store -> merged.add(store.current()));
        return merged.build(dir.meshConfig());
    }

    /** Waits until every registry and store has synced, logging every 5 s; fails after {@link #SYNC_TIMEOUT}. */
    private static void awaitSynced(ServiceRegistry registries, List<ConfigStore> stores) throws Exception {
        long start = System.nanoTime();
        long lastLog = start;
        while (true) {
            boolean synced = registries.hasSynced();
            for (ConfigStore s : stores) {
                synced &= s.hasSynced();
            }
            if (synced) {
                return;
            }
            long now = System.nanoTime();
            if (now - start > SYNC_TIMEOUT.toNanos()) {
                throw new io.jmesh.proxy.config.ConfigException("registries: not synced after " + SYNC_TIMEOUT
                        + " (expected: every registry and config store reachable and readable; see the warnings above)");
            }
            if (now - lastLog > TimeUnit.SECONDS.toNanos(5)) {
                lastLog = now;
                logger.info("waiting for registries and config stores to sync before serving xDS");
            }
            Thread.sleep(20);
        }
    }

    /** The DNS names of discovery's serving certificate: istiod's service name first, as sidecars expect. */
    public static final List<String> SERVING_DNS_NAMES = List.of(CaTls.ISTIOD_SAN, "jmesh-discovery", "localhost");

    private static SecureCa startSecure(CaOptions o, String trustDomain, AdsService ads,
                                        List<java.util.function.Function<String, Authenticator>> extraAuth)
            throws Exception {
        Clock clock = Clock.systemUTC();
        CaRoots roots;
        if (o.caDir() != null) {
            roots = CaRoots.loadOrCreate(o.caDir(), trustDomain, clock);
        } else {
            roots = CaRoots.selfSigned(trustDomain, CaRoots.SELF_SIGNED_ROOT_TTL, clock);
            logger.warn("no CA directory: the self-signed root lives in memory only; a restart makes a new root "
                    + "and every workload must get a new certificate");
        }
        CertificateAuthority ca = new CertificateAuthority(roots, o.defaultCertTtl(), o.maxCertTtl(), clock);
        CaDirectoryWatcher caWatcher = o.caDir() == null ? null
                : CaDirectoryWatcher.start(o.caDir(), ca, CaDirectoryWatcher.DEFAULT_INTERVAL, clock);
        try {
            List<String> ips = new java.util.ArrayList<>(List.of("127.0.0.1"));
            java.net.InetAddress bind = o.secureGrpcAddress().getAddress();
            if (bind != null && !bind.isAnyLocalAddress() && !bind.isLoopbackAddress()) {
                ips.add(bind.getHostAddress());
            }
            Server server = NettyServerBuilder.forAddress(o.secureGrpcAddress(),
                            CaTls.serverCredentials(ca, SERVING_DNS_NAMES, ips))
                    .addService(ads)
                    .addService(caService(o, ca, trustDomain, extraAuth))
                    .maxInboundMessageSize(4 * 1024 * 1024)
                    .build()
                    .start();
            return new SecureCa(ca, server, caWatcher);
        } catch (Exception e) {
            if (caWatcher != null) {
                caWatcher.close();
            }
            throw e;
        }
    }

    private static IstioCertificateService caService(CaOptions o, CertificateAuthority ca, String trustDomain,
                                                     List<java.util.function.Function<String, Authenticator>> extra)
            throws Exception {
        List<Authenticator> auth = new java.util.ArrayList<>();
        auth.add(new ClientCertAuthenticator());
        if (o.tokensFile() != null) {
            auth.add(new TokenAuthenticator(o.tokensFile(), trustDomain));
        }
        extra.forEach(f -> auth.add(f.apply(trustDomain)));
        return new IstioCertificateService(ca, auth);
    }

    /** Returns the bound TLS address (xDS and the CA), or null when discovery runs without the CA. */
    public InetSocketAddress secureGrpcAddress() {
        return secure == null ? null : (InetSocketAddress) secure.server().getListenSockets().get(0);
    }

    /** Returns the CA, or null when discovery runs without it. */
    public CertificateAuthority certificateAuthority() {
        return secure == null ? null : secure.ca();
    }

    /** Returns the bound ADS address. */
    public InetSocketAddress grpcAddress() {
        return (InetSocketAddress) grpc.getListenSockets().get(0);
    }

    /** Returns the bound monitoring address. */
    public InetSocketAddress monitoringAddress() {
        return monitoring.address();
    }

    /** Returns the snapshot being served. */
    public MeshSnapshot snapshot() {
        return ads.snapshot();
    }

    /** Returns the metrics. */
    public XdsMetrics metrics() {
        return metrics;
    }

    /** Returns the ADS service, for status. */
    public AdsService ads() {
        return ads;
    }

    /**
     * Re-reads the credentials directory every second on a daemon thread; when what it holds changed, stores
     * it and runs {@code changed} (a new snapshot then carries it).
     */
    private static java.util.concurrent.ScheduledExecutorService credentialsPoller(
            java.nio.file.Path dir, java.util.concurrent.atomic.AtomicReference<List<Credential>> current,
            Runnable changed) {
        java.util.concurrent.ScheduledExecutorService s = java.util.concurrent.Executors
                .newSingleThreadScheduledExecutor(r -> {
                    Thread t = new Thread(r, "credentials-poller");
                    t.setDaemon(true);
                    return t;
                });
        s.scheduleWithFixedDelay(() -> {
            try {
                List<Credential> next = CredentialsDirectory.load(dir);
                if (!next.equals(current.get())) {
                    current.set(next);
                    logger.info("credentials in {} changed: {} credentials", dir, next.size());
                    changed.run();
                }
            } catch (RuntimeException e) {
                logger.warn("credentials: reading {} failed", dir, e);
            }
        }, 1, 1, TimeUnit.SECONDS);
        return s;
    }

    /** Stops watching, closes every stream and both ports; waits up to 5 seconds for gRPC. */
    @Override
    public void close() {
        if (credentialsPoller != null) {
            credentialsPoller.shutdownNow();
        }
        if (jwksResolver != null) {
            jwksResolver.close();
        }
        watcher.close();
        debouncer.close();
        registries.close();
        configStores.forEach(ConfigStore::close);
        grpc.shutdownNow();
        try {
            grpc.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (secure != null) {
            secure.close();
        }
        ads.close();
        monitoring.close();
    }
}
