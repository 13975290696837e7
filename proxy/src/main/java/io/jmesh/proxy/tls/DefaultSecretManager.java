package io.jmesh.proxy.tls;

import java.io.IOException;
import java.lang.ref.WeakReference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;

import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;

/**
 * The proxy's {@link SecretManager}: static secrets, file sources ({@code sds_config.path_config_source} or the
 * legacy {@code path}: a file holding a {@code DiscoveryResponse} of {@code Secret}s, JSON or YAML), and remote
 * sources (ADS, an SDS server) through a {@link RemoteSource} that the xDS side provides and that calls
 * {@link #deliver} with what arrives.
 *
 * <p>Files are polled every {@value #DEFAULT_POLL_MILLIS} ms (system property {@value #POLL_PROPERTY}) on one
 * daemon thread, started by the first watched secret: a {@code DiscoveryResponse} file is re-read and applied
 * when it changed, and a secret whose {@code DataSource}s name files ({@code certificate_chain},
 * {@code private_key}, {@code trusted_ca}; Kubernetes' {@code ..data} symlink swap or Envoy's
 * {@code watched_directory} moves included) tells its listeners when their contents changed. A half-written
 * file makes the listener's rebuild fail, which keeps the previous TLS context until the next change. Envoy
 * uses inotify; polling costs one read of a few small files per second and needs no platform support.
 *
 * <p>Thread-safe.
 */
public final class DefaultSecretManager implements SecretManager, AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(DefaultSecretManager.class);

    /** How often watched files are checked, in milliseconds, unless {@value #POLL_PROPERTY} says otherwise. */
    public static final long DEFAULT_POLL_MILLIS = 1000;
    /** The system property that sets the file poll period in milliseconds. */
    public static final String POLL_PROPERTY = "jmesh.secrets.pollMillis";

    static final DefaultSecretManager NONE = new DefaultSecretManager(Map.of(), null);

    /** Where secrets from ADS or an SDS server come from: the xDS side implements it. */
    public interface RemoteSource {
        /**
         * Starts fetching secret {@code name} from {@code source} (ADS or an {@code api_config_source}); what
         * arrives is handed to {@link DefaultSecretManager#deliver}. Called once per source and name, on any
         * thread; must not block.
         *
         * @throws ConfigException if the source is not one this proxy can reach (named from {@code path})
         */
        void subscribe(ConfigSource source, String name, String path) throws ConfigException;
    }

    private record Key(ConfigSource source, String name) {}

    private final Map<String, Secret> statics;
    private final RemoteSource remote;
    private final Map<Key, Handle> handles = new ConcurrentHashMap<>();
    private final Map<Secret, Handle> fixedHandles = new ConcurrentHashMap<>();
    private final List<Handle> watched = new CopyOnWriteArrayList<>();
    private final long pollMillis = Long.getLong(POLL_PROPERTY, DEFAULT_POLL_MILLIS);
    private final SslContextCache contextCache = new SslContextCache();
    private ScheduledExecutorService poller;
    private boolean closed;

    private DefaultSecretManager(Map<String, Secret> statics, RemoteSource remote) {
        this.statics = statics;
        this.remote = remote;
    }

    /**
     * A manager with the bootstrap's {@code static_resources.secrets} and, for ADS and SDS servers,
     * {@code remote} (null: such sources are refused).
     *
     * @throws ConfigException for a secret without a name or a name used twice
     */
    public static DefaultSecretManager create(List<Secret> staticSecrets, RemoteSource remote) throws ConfigException {
        Map<String, Secret> byName = new HashMap<>();
        for (int i = 0; i < staticSecrets.size(); i++) {
            Secret s = staticSecrets.get(i);
            String path = "static_resources.secrets[" + i + "].name";
            if (s.getName().isEmpty()) {
                throw new ConfigException(path + ": \"\" (expected: a secret name)");
            }
            if (byName.put(s.getName(), s) != null) {
                throw new ConfigException(path + ": " + s.getName() + " (expected: a unique secret name)");
            }
        }
        return new DefaultSecretManager(Map.copyOf(byName), remote);
    }

    /** The key of a source: the fields that say where secrets come from, not how long to wait for them. */
    public static ConfigSource sourceKey(ConfigSource source) {
        return source.toBuilder().clearInitialFetchTimeout().clearResourceApiVersion().clearAuthorities().build();
    }

    @Override
    @SuppressWarnings("deprecation") // ConfigSource.path, the legacy form of path_config_source
    public Subscription subscribe(SdsSecretConfig config, String path) throws ConfigException {
        String name = config.getName();
        if (name.isEmpty()) {
            throw new ConfigException(path + ".name: \"\" (expected: a secret name)");
        }
        if (!config.hasSdsConfig()) {
            Secret s = statics.get(name);
            if (s == null) {
                throw new ConfigException(path + ".name: " + name + " (expected: a secret of static_resources.secrets"
                                          + " when sds_config is unset)");
            }
            return handles.computeIfAbsent(new Key(null, name), k -> watchFiles(new Handle(name, null, null, s)));
        }
        ConfigSource source = sourceKey(config.getSdsConfig());
        Key key = new Key(source, name);
        Handle existing = handles.get(key);
        if (existing != null) {
            return existing;
        }
        switch (source.getConfigSourceSpecifierCase()) {
            case PATH_CONFIG_SOURCE:
            case PATH: {
                String file = source.hasPathConfigSource() ? source.getPathConfigSource().getPath() : source.getPath();
                String p = path + ".sds_config." + (source.hasPathConfigSource() ? "path_config_source.path" : "path");
                if (file.isEmpty()) {
                    throw new ConfigException(p + ": \"\" (expected: a file holding a DiscoveryResponse)");
                }
                Secret s;
                try {
                    s = readResponseFile(Path.of(file), name);
                } catch (ConfigException e) {
                    throw new ConfigException(p + ": " + e.getMessage(), e);
                }
                Handle h = new Handle(name, source, Path.of(file), s);
                Handle raced = handles.putIfAbsent(key, h);
                return raced != null ? raced : watchFiles(h);
            }
            case ADS:
            case API_CONFIG_SOURCE: {
                if (remote == null) {
                    throw new ConfigException(path + ".sds_config: " + source.getConfigSourceSpecifierCase()
                                              .name().toLowerCase(java.util.Locale.ROOT) + " (expected: "
                                              + "path_config_source or a static secret; no SDS client here)");
                }
                Handle h = new Handle(name, source, null, null);
                Handle raced = handles.putIfAbsent(key, h);
                if (raced != null) {
                    return raced;
                }
                try {
                    remote.subscribe(source, name, path + ".sds_config");
                } catch (ConfigException | RuntimeException e) {
                    handles.remove(key, h);
                    throw e;
                }
                return h;
            }
            default:
                throw new ConfigException(path + ".sds_config: " + source.getConfigSourceSpecifierCase()
                                          + " (expected: ads, api_config_source or path_config_source)");
        }
    }

    /** This manager's own cache: the contexts of one proxy share among themselves. */
    @Override
    public SslContextCache contextCache() {
        return contextCache;
    }

    @Override
    public Subscription fixed(Secret secret) {
        if (files(secret).isEmpty()) {
            return new Handle(secret.getName(), null, null, secret);
        }
        // One watched handle per distinct secret, so that rebuilding a config does not add watchers.
        return fixedHandles.computeIfAbsent(secret, s -> watchFiles(new Handle(s.getName(), null, null, s)));
    }

    /**
     * Applies secrets that arrived from {@code source} (as given to {@link RemoteSource#subscribe}): each
     * subscription of that source and name takes its new value and tells its listeners. Names nobody subscribed
     * are ignored. Call on the thread that receives them (never an event loop): listeners rebuild TLS contexts.
     */
    public void deliver(ConfigSource source, List<Secret> secrets) {
        for (Secret s : secrets) {
            Handle h = handles.get(new Key(source, s.getName()));
            if (h != null) {
                h.set(s);
                if (!files(s).isEmpty()) {
                    watchFiles(h);
                }
            }
        }
    }

    /**
     * The secrets for {@code /config_dump}, as Envoy shows them: static ones, dynamic ones that arrived
     * ({@code dynamic_active_secrets}) and dynamic ones still awaited ({@code dynamic_warming_secrets}), with
     * private keys replaced by {@code [redacted]}.
     */
    public io.envoyproxy.envoy.admin.v3.SecretsConfigDump configDump() {
        var b = io.envoyproxy.envoy.admin.v3.SecretsConfigDump.newBuilder();
        new java.util.TreeMap<>(statics).forEach((name, secret) -> b.addStaticSecrets(
                io.envoyproxy.envoy.admin.v3.SecretsConfigDump.StaticSecret.newBuilder().setName(name)
                        .setSecret(Any.pack(redacted(secret)))));
        for (Handle h : handles.values()) {
            if (h.source == null) {
                continue;
            }
            var d = io.envoyproxy.envoy.admin.v3.SecretsConfigDump.DynamicSecret.newBuilder().setName(h.name);
            Secret v = h.value;
            if (v == null) {
                b.addDynamicWarmingSecrets(d);
            } else {
                long ms = h.updatedMillis;
                d.setLastUpdated(com.google.protobuf.Timestamp.newBuilder().setSeconds(ms / 1000)
                                         .setNanos((int) (ms % 1000) * 1_000_000))
                 .setSecret(Any.pack(redacted(v)));
                b.addDynamicActiveSecrets(d);
            }
        }
        return b.build();
    }

    private static Secret redacted(Secret s) {
        if (!s.hasTlsCertificate()) {
            return s;
        }
        DataSource red = DataSource.newBuilder().setInlineString("[redacted]").build();
        var t = s.getTlsCertificate().toBuilder();
        if (t.hasPrivateKey()) {
            t.setPrivateKey(red);
        }
        if (t.hasPassword()) {
            t.setPassword(red);
        }
        return s.toBuilder().setTlsCertificate(t).build();
    }

    private Handle watchFiles(Handle h) {
        if (h.watching) {
            return h;
        }
        synchronized (this) {
            if (h.watching || closed) {
                return h;
            }
            h.watching = true;
            h.fingerprint = fingerprint(h.value);
            watched.add(h);
            if (poller == null) {
                ScheduledThreadPoolExecutor p = new ScheduledThreadPoolExecutor(1, r -> {
                    Thread t = new Thread(r, "jmesh-secret-files");
                    t.setDaemon(true);
                    return t;
                });
                p.scheduleWithFixedDelay(this::poll, pollMillis, pollMillis, TimeUnit.MILLISECONDS);
                poller = p;
            }
        }
        return h;
    }

    private void poll() {
        for (Handle h : watched) {
            try {
                if (h.file != null) {
                    String text = Files.readString(h.file, StandardCharsets.UTF_8);
                    if (!text.equals(h.fileText)) {
                        h.fileText = text;
                        try {
                            h.set(parseResponse(text, h.name, h.file));
                        } catch (ConfigException e) {
                            logger.warn("secret {}: {} rejected, keeping the previous one: {}", h.name, h.file,
                                        e.getMessage());
                        }
                    }
                }
                long f = fingerprint(h.value);
                if (f != h.fingerprint) {
                    h.fingerprint = f;
                    logger.info("secret {}: its files changed", h.name);
                    h.notifyListeners();
                }
            } catch (IOException | RuntimeException e) {
                logger.debug("secret {}: cannot read its files now: {}", h.name, e.toString());
            }
        }
    }

    private static Secret readResponseFile(Path file, String name) throws ConfigException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            throw new ConfigException(file + " (expected: a readable file; " + e.getClass().getSimpleName() + ')', e);
        }
        return parseResponse(text, name, file);
    }

    /** The secret {@code name} of a {@code DiscoveryResponse} in JSON or YAML, or null when it holds none. */
    static Secret parseResponse(String text, String name, Path file) throws ConfigException {
        DiscoveryResponse r;
        try {
            r = EnvoyTypes.PARSER.parse(text, DiscoveryResponse.newBuilder()).build();
        } catch (ConfigException e) {
            throw new ConfigException(file + ": " + e.getMessage() + " (expected: a DiscoveryResponse of Secrets)", e);
        }
        for (int i = 0; i < r.getResourcesCount(); i++) {
            Any any = r.getResources(i);
            try {
                Secret s = any.unpack(Secret.class);
                if (s.getName().equals(name)) {
                    return s;
                }
            } catch (InvalidProtocolBufferException e) {
                throw new ConfigException(file + ": resources[" + i + "]: " + any.getTypeUrl()
                                          + " (expected: type.googleapis.com/"
                                          + Secret.getDescriptor().getFullName() + ')', e);
            }
        }
        return null;
    }

    /** The files a secret's data sources name. */
    static List<Path> files(Secret s) {
        List<Path> out = new ArrayList<>(3);
        if (s == null) {
            return out;
        }
        if (s.hasTlsCertificate()) {
            addFile(out, s.getTlsCertificate().getCertificateChain());
            addFile(out, s.getTlsCertificate().getPrivateKey());
        }
        if (s.hasValidationContext()) {
            addFile(out, s.getValidationContext().getTrustedCa());
        }
        return out;
    }

    private static void addFile(List<Path> out, DataSource d) {
        if (d.getSpecifierCase() == DataSource.SpecifierCase.FILENAME) {
            out.add(Path.of(d.getFilename()));
        }
    }

    private static long fingerprint(Secret s) {
        long h = 17;
        for (Path p : files(s)) {
            try {
                h = h * 31 + Arrays.hashCode(Files.readAllBytes(p));
            } catch (IOException | RuntimeException e) {
                h = h * 31 + 1; // missing now: counts as a change when it comes back
            }
        }
        return h;
    }

    /** Stops watching files. Subscriptions keep their last values. */
    @Override
    public synchronized void close() {
        closed = true;
        if (poller != null) {
            poller.shutdownNow();
        }
    }

    private static final class Handle implements Subscription {
        final String name;
        final ConfigSource source;
        final Path file;
        final CompletableFuture<Void> ready = new CompletableFuture<>();
        private final List<WeakReference<Listener>> listeners = new ArrayList<>();
        volatile Secret value;
        volatile long updatedMillis = System.currentTimeMillis();
        volatile boolean watching;
        long fingerprint;
        String fileText;

        Handle(String name, ConfigSource source, Path file, Secret initial) {
            this.name = name;
            this.source = source;
            this.file = file;
            this.value = initial;
            if (initial != null) {
                ready.complete(null);
            }
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public Secret current() {
            return value;
        }

        @Override
        public void addListener(Listener listener) {
            synchronized (listeners) {
                listeners.removeIf(r -> r.get() == null);
                listeners.add(new WeakReference<>(listener));
            }
        }

        @Override
        public CompletableFuture<Void> ready() {
            return ready;
        }

        void set(Secret s) {
            if (s == null || s.equals(value)) {
                return;
            }
            value = s;
            updatedMillis = System.currentTimeMillis();
            fingerprint = fingerprint(s);
            ready.complete(null);
            notifyListeners();
        }

        void notifyListeners() {
            List<Listener> copy = new ArrayList<>();
            synchronized (listeners) {
                for (WeakReference<Listener> r : listeners) {
                    Listener l = r.get();
                    if (l != null) {
                        copy.add(l);
                    }
                }
            }
            for (Listener l : copy) {
                try {
                    l.onSecretUpdate(this);
                } catch (RuntimeException e) {
                    logger.warn("secret {}: listener failed", name, e);
                }
            }
        }

        @Override
        public String toString() {
            return "secret " + name + (source == null ? "" : " from " + source.getConfigSourceSpecifierCase());
        }
    }
}
