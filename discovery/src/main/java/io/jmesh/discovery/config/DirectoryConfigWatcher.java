package io.jmesh.discovery.config;

import io.jmesh.proxy.config.ConfigException;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads every {@code *.yaml} / {@code *.yml} file under a directory (recursively, in path order)
 * into a {@link ConfigSnapshot}, and reloads it when files change: a {@link WatchService} reports
 * changes, a periodic re-scan of names, sizes and modification times catches what it misses, and
 * reloads are debounced. The listener is called on the watcher's own thread, only when the
 * snapshot differs from the last one. Rejected objects are logged at WARN with file, line,
 * {@code Kind/namespace/name} and reason, and kept in the snapshot's errors.
 */
public final class DirectoryConfigWatcher implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(DirectoryConfigWatcher.class);

    /** Default interval of the fallback re-scan. */
    public static final Duration DEFAULT_RESCAN = Duration.ofSeconds(2);

    private final Path dir;
    private final Path meshConfigFile;
    private final Duration debounce;
    private final Duration rescan;
    private final Consumer<ConfigSnapshot> listener;
    private final ScheduledExecutorService executor;
    private final Map<Path, WatchKey> watched = new HashMap<>();
    private WatchService watchService;
    private Thread watchThread;
    private ScheduledFuture<?> pendingReload;
    private Map<Path, String> lastFingerprint = Map.of();
    /** The last parse of each file, with its size, modification time and file key when parsed. */
    private Map<Path, Map.Entry<String, ConfigParser.Result>> parsed = Map.of();
    private volatile ConfigSnapshot current = ConfigSnapshot.EMPTY;
    private volatile boolean closed;

    /**
     * Creates a watcher; nothing is read until {@link #start()}.
     *
     * @param meshConfigFile a MeshConfig YAML file, or {@code null} for Istio's defaults
     */
    public DirectoryConfigWatcher(Path dir, Path meshConfigFile, Duration debounce, Duration rescan,
                                  Consumer<ConfigSnapshot> listener) {
        this.dir = Objects.requireNonNull(dir, "dir");
        this.meshConfigFile = meshConfigFile;
        this.debounce = Objects.requireNonNull(debounce, "debounce");
        this.rescan = Objects.requireNonNull(rescan, "rescan");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "jmesh-config-watcher");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Loads the directory once (the listener gets the first snapshot before this returns) and
     * starts watching.
     *
     * @throws ConfigException if the directory is missing or the mesh config file is invalid
     */
    public ConfigSnapshot start() throws ConfigException {
        if (!Files.isDirectory(dir)) {
            throw new ConfigException("configDir: " + dir + " (expected: an existing directory)");
        }
        MeshConfig mesh = loadMeshConfig(meshConfigFile);
        try {
            executor.submit(() -> reload(mesh, true)).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ConfigException("configDir: interrupted while loading");
        } catch (java.util.concurrent.ExecutionException e) {
            throw new ConfigException("configDir: " + dir + " (" + e.getCause() + ")", e.getCause());
        }
        try {
            watchService = FileSystems.getDefault().newWatchService();
            registerTree();
            watchThread = new Thread(() -> watchLoop(mesh), "jmesh-config-watch-events");
            watchThread.setDaemon(true);
            watchThread.start();
        } catch (IOException e) {
            logger.warn("{}: cannot watch for changes, relying on re-scan every {}", dir, rescan, e);
        }
        executor.scheduleWithFixedDelay(() -> reload(mesh, false), rescan.toMillis(), rescan.toMillis(),
                TimeUnit.MILLISECONDS);
        return current;
    }

    /** Returns the last snapshot given to the listener. */
    public ConfigSnapshot current() {
        return current;
    }

    /** Parses a MeshConfig file; {@code null} gives {@link MeshConfig#DEFAULT}. */
    public static MeshConfig loadMeshConfig(Path file) throws ConfigException {
        if (file == null) {
            return MeshConfig.DEFAULT;
        }
        try {
            MeshConfig mc = ConfigParser.MAPPER.readValue(file.toFile(), MeshConfig.class);
            return mc == null ? MeshConfig.DEFAULT : mc;
        } catch (IOException e) {
            throw new ConfigException("meshConfig: " + file + " (" + e.getMessage() + ")", e);
        }
    }

    private void watchLoop(MeshConfig mesh) {
        while (!closed) {
            WatchKey key;
            try {
                key = watchService.take();
            } catch (InterruptedException | ClosedWatchServiceException e) {
                return;
            }
            key.pollEvents();
            key.reset();
            scheduleReload(mesh);
        }
    }

    private synchronized void scheduleReload(MeshConfig mesh) {
        if (closed) {
            return;
        }
        if (pendingReload != null) {
            pendingReload.cancel(false);
        }
        pendingReload = executor.schedule(() -> reload(mesh, true), debounce.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void reload(MeshConfig mesh, boolean force) {
        if (closed) {
            return;
        }
        if (!Files.isDirectory(dir)) {
            // A directory that disappears (an unmounted volume, a redeploy) must not wipe the mesh.
            logger.warn("{}: not a directory any more; keeping the last config", dir);
            return;
        }
        try {
            List<Path> files = listFiles();
            Map<Path, String> fingerprint = new HashMap<>();
            for (Path f : files) {
                try {
                    fingerprint.put(f, Files.size(f) + "@" + Files.getLastModifiedTime(f).toMillis());
                } catch (IOException e) {
                    fingerprint.put(f, "?");
                }
            }
            if (!force && fingerprint.equals(lastFingerprint)) {
                return;
            }
            lastFingerprint = fingerprint;
            registerTree();
            // Only files whose attributes changed are parsed again: with 1,000s of files, a change to
            // one must not cost a parse of all of them on the way to the proxies.
            Map<Path, Map.Entry<String, ConfigParser.Result>> nextParsed = new HashMap<>();
            ConfigSnapshot next = load(files, mesh, f -> {
                String key = parseKey(f);
                Map.Entry<String, ConfigParser.Result> last = parsed.get(f);
                ConfigParser.Result r = key != null && last != null && last.getKey().equals(key)
                        ? last.getValue() : ConfigParser.parse(f);
                if (key != null) {
                    nextParsed.put(f, Map.entry(key, r));
                }
                return r;
            });
            parsed = nextParsed;
            if (next.equals(current)) {
                return;
            }
            next.logNewProblems(current, logger);
            current = next;
            logger.info("{}: loaded {} objects, {} rejected, {} not applied", dir, next.configs().size(),
                    next.errors().size(), next.warnings().stream().filter(w -> !w.applied()).count());
            listener.accept(next);
        } catch (RuntimeException e) {
            logger.warn("{}: reload failed", dir, e);
        }
    }

    /** Loads {@code files} into one snapshot; later duplicates of an object are rejected. */
    static ConfigSnapshot load(List<Path> files, MeshConfig mesh) {
        return load(files, mesh, ConfigParser::parse);
    }

    private static ConfigSnapshot load(List<Path> files, MeshConfig mesh,
                                       Function<Path, ConfigParser.Result> parser) {
        ConfigSnapshot.Builder snapshot = new ConfigSnapshot.Builder();
        for (Path f : files) {
            snapshot.add(parser.apply(f));
        }
        return snapshot.build(mesh);
    }

    /** Size, modification time (full precision) and file key (inode), or {@code null} if unreadable. */
    private static String parseKey(Path f) {
        try {
            BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
            return a.size() + "@" + a.lastModifiedTime() + "#" + a.fileKey();
        } catch (IOException e) {
            return null;
        }
    }

    private List<Path> listFiles() {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile)
                    .filter(p -> {
                        String n = p.getFileName().toString();
                        return !n.startsWith(".") && (n.endsWith(".yaml") || n.endsWith(".yml"));
                    })
                    .sorted()
                    .toList();
        } catch (IOException e) {
            logger.warn("{}: cannot list files", dir, e);
            return List.of();
        }
    }

    private synchronized void registerTree() {
        if (watchService == null) {
            return;
        }
        Set<Path> dirs = new HashSet<>();
        try (Stream<Path> s = Files.walk(dir)) {
            s.filter(Files::isDirectory).forEach(dirs::add);
        } catch (IOException e) {
            return;
        }
        for (Path d : dirs) {
            if (!watched.containsKey(d)) {
                try {
                    watched.put(d, d.register(watchService, StandardWatchEventKinds.ENTRY_CREATE,
                            StandardWatchEventKinds.ENTRY_DELETE, StandardWatchEventKinds.ENTRY_MODIFY));
                } catch (IOException e) {
                    logger.debug("{}: cannot watch", d, e);
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        executor.shutdownNow();
        if (watchService != null) {
            try {
                watchService.close();
            } catch (IOException e) {
                logger.debug("{}: closing the watch service", dir, e);
            }
        }
        if (watchThread != null) {
            watchThread.interrupt();
        }
    }
}
