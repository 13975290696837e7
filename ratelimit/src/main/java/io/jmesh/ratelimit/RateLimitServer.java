package io.jmesh.ratelimit;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;

/**
 * The {@code jmesh ratelimit} daemon: the gRPC {@link RateLimitServiceImpl} on an address, a counter store (memory or
 * Redis) and the config file (or directory) watched: it is checked for changes every {@code reloadMillis} and
 * reloaded; a config that does not load is logged with its reason and the old one keeps serving.
 */
public final class RateLimitServer implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(RateLimitServer.class);

    /** What to start. {@code redis} null: counters in memory. */
    public record Options(Path config, String address, int port, String redis, boolean responseHeaders,
                          long reloadMillis, LongSupplier epochSeconds) {

        /** Defaults: 127.0.0.1, port 8081 (envoyproxy/ratelimit's gRPC port), memory, reload every second. */
        public static Options of(Path config) {
            return new Options(config, "127.0.0.1", 8081, null, false, 1000, () -> System.currentTimeMillis() / 1000);
        }

        public Options port(int p) {
            return new Options(config, address, p, redis, responseHeaders, reloadMillis, epochSeconds);
        }

        public Options address(String a) {
            return new Options(config, a, port, redis, responseHeaders, reloadMillis, epochSeconds);
        }

        public Options redis(String r) {
            return new Options(config, address, port, r, responseHeaders, reloadMillis, epochSeconds);
        }

        public Options responseHeaders(boolean on) {
            return new Options(config, address, port, redis, on, reloadMillis, epochSeconds);
        }

        public Options reloadMillis(long ms) {
            return new Options(config, address, port, redis, responseHeaders, ms, epochSeconds);
        }

        public Options epochSeconds(LongSupplier clock) {
            return new Options(config, address, port, redis, responseHeaders, reloadMillis, clock);
        }
    }

    private final Options options;
    private final Server server;
    private final CounterStore store;
    private final ScheduledExecutorService watcher;
    private final AtomicLong reloads = new AtomicLong();
    private volatile RateLimitConfig config;
    private volatile String signature;
    private volatile String lastError;

    private RateLimitServer(Options options, RateLimitConfig config, CounterStore store) throws IOException {
        this.options = options;
        this.config = config;
        this.store = store;
        this.signature = signature(options.config());
        this.server = NettyServerBuilder.forAddress(new InetSocketAddress(options.address(), options.port()))
                .addService(new RateLimitServiceImpl(() -> this.config, store, options.epochSeconds(),
                        options.responseHeaders()))
                .build().start();
        this.watcher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "ratelimit-config-watcher");
            t.setDaemon(true);
            return t;
        });
        watcher.scheduleWithFixedDelay(this::checkReload, options.reloadMillis(), options.reloadMillis(),
                TimeUnit.MILLISECONDS);
    }

    /**
     * Loads the config and starts serving.
     *
     * @throws RateLimitConfig.ConfigError the config does not load (nothing is started)
     * @throws IOException                  the address cannot be bound
     */
    public static RateLimitServer start(Options options) throws RateLimitConfig.ConfigError, IOException {
        RateLimitConfig cfg = RateLimitConfig.load(options.config());
        CounterStore store = options.redis() == null ? new MemoryCounterStore(options.epochSeconds())
                : new RedisCounterStore(options.redis());
        try {
            RateLimitServer s = new RateLimitServer(options, cfg, store);
            logger.info("ratelimit: gRPC RateLimitService on {}:{}, domains {}, counters {}", options.address(),
                    s.port(), cfg.domains(), options.redis() == null ? "in memory" : "in Redis at " + options.redis());
            return s;
        } catch (IOException | RuntimeException e) {
            store.close();
            throw e;
        }
    }

    /** The bound port. */
    public int port() {
        return server.getPort();
    }

    /** The config serving now. */
    public RateLimitConfig config() {
        return config;
    }

    /** How many times a changed config was loaded. */
    public long reloads() {
        return reloads.get();
    }

    /** Why the last changed config was refused, or null. */
    public String lastError() {
        return lastError;
    }

    private void checkReload() {
        try {
            String sig = signature(options.config());
            if (sig.equals(signature)) {
                return;
            }
            signature = sig;
            try {
                config = RateLimitConfig.load(options.config());
                lastError = null;
                reloads.incrementAndGet();
                logger.info("ratelimit: config reloaded from {}: domains {}", options.config(), config.domains());
            } catch (RateLimitConfig.ConfigError e) {
                lastError = e.getMessage();
                logger.error("ratelimit: config not reloaded, the previous one keeps serving: {}", e.getMessage());
            }
        } catch (RuntimeException e) {
            logger.warn("ratelimit: config watch failed: {}", e.toString());
        }
    }

    /** Names, sizes and modification times of the config file(s): a change in any is a change. */
    private static String signature(Path path) {
        StringBuilder sb = new StringBuilder();
        try {
            if (Files.isDirectory(path)) {
                try (Stream<Path> s = Files.list(path)) {
                    for (Path p : (Iterable<Path>) s.sorted()::iterator) {
                        sb.append(p.getFileName()).append(':').append(Files.size(p)).append(':')
                          .append(Files.getLastModifiedTime(p).toMillis()).append(';');
                    }
                }
            } else {
                sb.append(Files.size(path)).append(':').append(Files.getLastModifiedTime(path).toMillis())
                  .append(':').append(Files.readString(path).hashCode());
            }
        } catch (IOException e) {
            sb.append("unreadable:").append(e.getMessage());
        }
        return sb.toString();
    }

    /** Blocks until the server stops. */
    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    @Override
    public void close() {
        watcher.shutdownNow();
        server.shutdownNow();
        try {
            server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        store.close();
    }
}
