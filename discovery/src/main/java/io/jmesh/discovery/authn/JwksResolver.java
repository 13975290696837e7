package io.jmesh.discovery.authn;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.SSLContext;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.jmesh.discovery.model.ResolvedJwks;

/**
 * Fetches the JSON Web Key Sets of RequestAuthentication rules in discovery, as istiod's {@code JwksResolver} does
 * ({@code pilot/pkg/model/jwks_resolver.go}), so that proxies get them inline ({@code local_jwks}):
 *
 * <ul>
 *   <li>a rule without {@code jwksUri}: OpenID discovery, {@code GET <issuer>/.well-known/openid-configuration},
 *       its {@code jwks_uri}, then {@code GET} that (redone on every refresh, so a moved {@code jwks_uri} is
 *       followed);</li>
 *   <li>a rule with a {@code jwksUri} that the {@link ResolvedJwks.FetchMode} gives to discovery: {@code GET} it.</li>
 * </ul>
 *
 * <p>{@link #resolve} fetches keys it has not seen yet at once (in parallel, each bounded by the fetch timeout, 5 s
 * by default as istiod's) and answers with every key it holds. Keys are refreshed every refresh interval (istiod's
 * {@code PILOT_JWT_PUB_KEY_REFRESH_INTERVAL}, 20 minutes); a key that changed calls {@code onChange} (discovery then
 * pushes). A fetch that fails is logged as a warning naming the rule, the issuer and the reason, and retried after
 * 1 s, 2 s, 4 s, ... up to {@link #MAX_RETRY_INTERVAL}; meanwhile a key never fetched stays absent (the generator
 * then inlines istiod's fake key, so every token of that issuer is refused with 401) and a key fetched before keeps
 * serving. Answers must be 2xx, at most {@link #MAX_BODY_BYTES}, and (for JWKS) a key set with at least one key.
 * HTTPS is verified with {@code trust} (the JDK's default trust store unless given). Thread-safe.
 */
public final class JwksResolver implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(JwksResolver.class);

    /** The path OpenID providers serve their configuration at, after the issuer (OpenID Connect Discovery 1.0). */
    public static final String OPENID_CONFIGURATION = "/.well-known/openid-configuration";
    /** istiod's default refresh interval ({@code PILOT_JWT_PUB_KEY_REFRESH_INTERVAL}). */
    public static final Duration DEFAULT_REFRESH_INTERVAL = Duration.ofMinutes(20);
    /** istiod's fetch timeout. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
    /** The longest wait between retries of a failing fetch. */
    public static final Duration MAX_RETRY_INTERVAL = Duration.ofMinutes(1);
    /** The largest answer read, in bytes. */
    public static final int MAX_BODY_BYTES = 1 << 20;

    private static final ObjectMapper JSON = new ObjectMapper();

    private final ResolvedJwks.FetchMode mode;
    private final Duration refreshInterval;
    private final Duration timeout;
    private final Runnable onChange;
    private final HttpClient client;
    private final ScheduledThreadPoolExecutor executor;
    private final Map<ResolvedJwks.Key, Entry> entries = new ConcurrentHashMap<>();
    private final AtomicInteger fetchFailures = new AtomicInteger();

    /** One rule key's state. */
    private static final class Entry {
        volatile String jwks;
        volatile String lastError;
        volatile String source;
        volatile int failures;
        volatile ScheduledFuture<?> next;
        /** The first fetch, which every {@link #resolve} wanting this key waits for. */
        volatile Future<?> first;
        volatile boolean removed;
    }

    /**
     * A resolver in {@code mode} with istiod's refresh interval and timeout and the JDK's default trust store.
     *
     * @param onChange called (on a resolver thread) when a refresh or a retry changed a key
     */
    public JwksResolver(ResolvedJwks.FetchMode mode, Runnable onChange) {
        this(mode, DEFAULT_REFRESH_INTERVAL, DEFAULT_TIMEOUT, null, onChange);
    }

    /**
     * A resolver with these settings; {@code trust} null means the JDK's default {@link SSLContext}.
     */
    public JwksResolver(ResolvedJwks.FetchMode mode, Duration refreshInterval, Duration timeout, SSLContext trust,
                        Runnable onChange) {
        this.mode = mode;
        this.refreshInterval = refreshInterval;
        this.timeout = timeout;
        this.onChange = onChange;
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NORMAL);
        if (trust != null) {
            b.sslContext(trust);
        }
        this.client = b.build();
        this.executor = new ScheduledThreadPoolExecutor(2, r -> {
            Thread t = new Thread(r, "jwks-resolver");
            t.setDaemon(true);
            return t;
        });
        executor.setRemoveOnCancelPolicy(true);
    }

    /** Returns the fetch mode. */
    public ResolvedJwks.FetchMode mode() {
        return mode;
    }

    /** Returns how many fetches failed so far (OpenID configuration or JWKS). */
    public int fetchFailures() {
        return fetchFailures.get();
    }

    /**
     * Returns the keys of {@code wanted} (rule key to where it comes from, for log lines), fetching new ones now:
     * blocks up to about the fetch timeout (twice for OpenID discovery) when some are new. Keys no longer wanted
     * are forgotten. Call from a thread that may block (discovery's debouncer), never from an event loop.
     */
    public ResolvedJwks resolve(Map<ResolvedJwks.Key, String> wanted) {
        List<Future<?>> fresh = new ArrayList<>();
        for (Map.Entry<ResolvedJwks.Key, String> w : wanted.entrySet()) {
            Entry e = entries.computeIfAbsent(w.getKey(), k -> {
                Entry created = new Entry();
                created.source = w.getValue();
                created.first = executor.submit(() -> fetch(k, created, false));
                return created;
            });
            e.source = w.getValue();
            // Also a fetch another resolve() started: both answers must hold its outcome (no push follows it).
            fresh.add(e.first);
        }
        for (Map.Entry<ResolvedJwks.Key, Entry> e : entries.entrySet()) {
            if (!wanted.containsKey(e.getKey())) {
                forget(e.getKey(), e.getValue());
            }
        }
        long deadline = System.nanoTime() + timeout.multipliedBy(2).plusSeconds(1).toNanos();
        for (Future<?> f : fresh) {
            try {
                f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
                break;
            } catch (ExecutionException | TimeoutException ex) {
                // the fetch logs its own failure and retries; the key stays absent for now
            }
        }
        Map<ResolvedJwks.Key, String> keys = new LinkedHashMap<>();
        for (ResolvedJwks.Key k : wanted.keySet()) {
            Entry e = entries.get(k);
            if (e != null && e.jwks != null) {
                keys.put(k, e.jwks);
            }
        }
        return new ResolvedJwks(mode, keys);
    }

    private void forget(ResolvedJwks.Key key, Entry e) {
        e.removed = true;
        ScheduledFuture<?> f = e.next;
        if (f != null) {
            f.cancel(false);
        }
        entries.remove(key, e);
    }

    /** Fetches one key, stores it, schedules the next fetch; on a scheduled run a change calls onChange. */
    private void fetch(ResolvedJwks.Key key, Entry e, boolean scheduled) {
        if (e.removed) {
            return;
        }
        String uri = key.jwksUri();
        try {
            if (uri.isEmpty()) {
                uri = openIdJwksUri(key.issuer());
            }
            String jwks = get(uri);
            try {
                if (com.nimbusds.jose.jwk.JWKSet.parse(jwks).getKeys().isEmpty()) {
                    throw new IOException(uri + ": a JSON Web Key Set without keys");
                }
            } catch (java.text.ParseException ex) {
                throw new IOException(uri + ": not a JSON Web Key Set (" + ex.getMessage() + ")");
            }
            String before = e.jwks;
            e.jwks = jwks;
            if (e.failures > 0 || before == null) {
                logger.info("{}: JWKS of issuer {} fetched from {}", e.source, key.issuer(), uri);
            }
            e.failures = 0;
            e.lastError = null;
            schedule(key, e, refreshInterval);
            if (scheduled && !jwks.equals(before) && !e.removed) {
                if (before != null) {
                    logger.info("{}: JWKS of issuer {} changed at {}", e.source, key.issuer(), uri);
                }
                onChange.run();
            }
        } catch (IOException | RuntimeException ex) {
            fetchFailures.incrementAndGet();
            String why = ex.getMessage() == null ? ex.toString() : ex.getMessage();
            int failures = ++e.failures;
            long delayMillis = Math.min(MAX_RETRY_INTERVAL.toMillis(), 1000L << Math.min(failures - 1, 16));
            String serving = e.jwks == null
                    ? "every token of this issuer is refused (401) until its keys are fetched"
                    : "the keys fetched before keep serving";
            if (!why.equals(e.lastError)) {
                logger.warn("{}: JWKS of issuer {} cannot be fetched: {}; {}; retrying in {} ms", e.source,
                        key.issuer(), why, serving, delayMillis);
            } else {
                logger.debug("{}: JWKS of issuer {} still cannot be fetched: {}", e.source, key.issuer(), why);
            }
            e.lastError = why;
            schedule(key, e, Duration.ofMillis(delayMillis));
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
        }
    }

    private void schedule(ResolvedJwks.Key key, Entry e, Duration delay) {
        if (e.removed || executor.isShutdown()) {
            return;
        }
        e.next = executor.schedule(() -> fetch(key, e, true), delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The {@code jwks_uri} of the issuer's OpenID configuration. */
    private String openIdJwksUri(String issuer) throws IOException, InterruptedException {
        String base = issuer.endsWith("/") ? issuer.substring(0, issuer.length() - 1) : issuer;
        String url = base + OPENID_CONFIGURATION;
        JsonNode doc;
        try {
            doc = JSON.readTree(get(url));
        } catch (com.fasterxml.jackson.core.JsonProcessingException ex) {
            throw new IOException(url + ": not JSON (" + ex.getOriginalMessage() + ")");
        }
        JsonNode jwksUri = doc.get("jwks_uri");
        if (jwksUri == null || !jwksUri.isTextual() || !(jwksUri.asText().startsWith("http://")
                || jwksUri.asText().startsWith("https://"))) {
            throw new IOException(url + ": jwks_uri: " + jwksUri + " (expected: an http or https URL)");
        }
        return jwksUri.asText();
    }

    private String get(String url) throws IOException, InterruptedException {
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException ex) {
            throw new IOException(url + ": not a URL");
        }
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme())) {
            throw new IOException(url + ": not an http or https URL");
        }
        HttpRequest req = HttpRequest.newBuilder(uri).timeout(timeout).header("accept", "application/json").GET()
                .build();
        HttpResponse<byte[]> r;
        try {
            r = client.send(req, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException ex) {
            throw new IOException(url + ": " + (ex.getMessage() == null ? ex.getClass().getSimpleName()
                    : ex.getMessage()));
        }
        if (r.statusCode() < 200 || r.statusCode() >= 300) {
            throw new IOException(url + ": status " + r.statusCode());
        }
        if (r.body().length > MAX_BODY_BYTES) {
            throw new IOException(url + ": answer over " + MAX_BODY_BYTES + " bytes");
        }
        return new String(r.body(), StandardCharsets.UTF_8);
    }

    /** Stops refreshing. */
    @Override
    public void close() {
        executor.shutdownNow();
    }
}
