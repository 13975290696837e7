package io.jmesh.proxy.filter.jwt;

import java.lang.ref.WeakReference;
import java.net.URI;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.nimbusds.jose.jwk.JWKSet;

import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.upstream.ClusterManager;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;

/**
 * Where a provider's public keys come from: an inline JWKS ({@code local_jwks}), or a remote one
 * ({@code remote_jwks}) fetched through the cluster manager and cached for {@code cache_duration} (Envoy's
 * default: 600s). Without {@code async_fetch} a request that needs expired or absent keys starts the fetch and
 * waits for it (one fetch in flight, shared); with it, keys are fetched when the config is built and refreshed
 * when they expire (after a failure, again after {@code failed_refetch_duration}, default 1s), and requests use
 * what is there. Fetches count in {@code jwks_fetch_success} / {@code jwks_fetch_failed}. Thread-safe: streams
 * of every event loop share one source.
 */
abstract class JwksSource {

    /** The keys to verify with now, or a future of them (failed when the fetch failed); never null. */
    abstract CompletableFuture<JWKSet> keys(EventLoop loop);

    /** The keys if they are at hand without waiting, else null. */
    abstract JWKSet ready();

    /** Inline keys, parsed once. */
    static JwksSource local(JWKSet keys) {
        CompletableFuture<JWKSet> done = CompletableFuture.completedFuture(keys);
        return new JwksSource() {
            @Override
            CompletableFuture<JWKSet> keys(EventLoop loop) {
                return done;
            }

            @Override
            JWKSet ready() {
                return keys;
            }
        };
    }

    /** Parses a JWKS document, or a single JWK as Envoy also accepts; throws with the parser's reason. */
    static JWKSet parse(String json) throws java.text.ParseException {
        JWKSet set;
        try {
            set = JWKSet.parse(json);
        } catch (java.text.ParseException e) {
            set = new JWKSet(com.nimbusds.jose.jwk.JWK.parse(json));
        }
        if (set.getKeys().isEmpty()) {
            throw new java.text.ParseException("no keys", 0);
        }
        return set;
    }

    /** Keys fetched from {@code uri} through {@code cluster}. */
    static final class Remote extends JwksSource {
        private static final Logger logger = LoggerFactory.getLogger(Remote.class);

        private final String provider;
        private final URI uri;
        private final String cluster;
        private final long timeoutMillis;
        private final long cacheNanos;
        private final long failedRefetchMillis;
        private final Supplier<ClusterManager> clusters;
        private final Counter fetchSuccess;
        private final Counter fetchFailed;
        private final AtomicReference<Cached> cached = new AtomicReference<>();
        private final AtomicReference<CompletableFuture<JWKSet>> inFlight = new AtomicReference<>();

        private record Cached(JWKSet keys, long expiresNanos) {}

        Remote(String provider, URI uri, String cluster, long timeoutMillis, long cacheMillis, long failedRefetchMillis,
               Supplier<ClusterManager> clusters, Counter fetchSuccess, Counter fetchFailed) {
            this.provider = provider;
            this.uri = uri;
            this.cluster = cluster;
            this.timeoutMillis = timeoutMillis;
            this.cacheNanos = TimeUnit.MILLISECONDS.toNanos(cacheMillis);
            this.failedRefetchMillis = failedRefetchMillis;
            this.clusters = clusters;
            this.fetchSuccess = fetchSuccess;
            this.fetchFailed = fetchFailed;
        }

        @Override
        JWKSet ready() {
            Cached c = cached.get();
            return c != null && System.nanoTime() - c.expiresNanos < 0 ? c.keys : null;
        }

        @Override
        CompletableFuture<JWKSet> keys(EventLoop loop) {
            JWKSet k = ready();
            if (k != null) {
                return CompletableFuture.completedFuture(k);
            }
            return fetch(loop);
        }

        /** Starts a fetch unless one is in flight; returns the one in flight. */
        CompletableFuture<JWKSet> fetch(EventLoop loop) {
            CompletableFuture<JWKSet> mine = new CompletableFuture<>();
            CompletableFuture<JWKSet> running = inFlight.compareAndExchange(null, mine);
            if (running != null) {
                return running;
            }
            loop.execute(() -> fetchNow(loop).whenComplete((body, err) -> {
                JWKSet keys = null;
                Throwable failure = err;
                if (failure == null) {
                    try {
                        keys = parse(body);
                    } catch (java.text.ParseException e) {
                        failure = e;
                    }
                }
                if (failure != null) {
                    fetchFailed.inc();
                    logger.warn("jwt_authn provider {}: JWKS fetch of {} through cluster {} failed: {}", provider, uri,
                            cluster, failure.getMessage());
                    inFlight.set(null);
                    mine.completeExceptionally(failure);
                } else {
                    fetchSuccess.inc();
                    cached.set(new Cached(keys, System.nanoTime() + cacheNanos));
                    inFlight.set(null);
                    mine.complete(keys);
                }
            }));
            return mine;
        }

        private CompletableFuture<String> fetchNow(EventLoop loop) {
            try {
                return JwksFetcher.fetch(clusters, cluster, uri, timeoutMillis, loop);
            } catch (RuntimeException e) { // never leave the shared fetch pending
                return CompletableFuture.failedFuture(e);
            }
        }

        /**
         * {@code async_fetch}: fetches now on one of {@code group}'s loops and again when the keys expire (or
         * {@code failed_refetch_duration} after a failure), for as long as this source is in use.
         */
        void startAsync(EventLoopGroup group) {
            EventLoop loop = group.next();
            WeakReference<Remote> self = new WeakReference<>(this);
            refresh(self, loop, cacheNanos, failedRefetchMillis);
        }

        private static void refresh(WeakReference<Remote> self, EventLoop loop, long cacheNanos, long failedRefetchMillis) {
            Remote r = self.get();
            if (r == null || loop.isShuttingDown()) {
                return;
            }
            r.fetch(loop).whenComplete((k, err) -> {
                long next = err == null ? TimeUnit.NANOSECONDS.toMillis(cacheNanos) : failedRefetchMillis;
                if (!loop.isShuttingDown()) {
                    loop.schedule(() -> refresh(self, loop, cacheNanos, failedRefetchMillis), Math.max(1, next),
                            TimeUnit.MILLISECONDS);
                }
            });
        }
    }
}
