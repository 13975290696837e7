package io.jmesh.proxy.filter.jwt;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtCacheConfig;
import io.jmesh.proxy.filter.jwt.JwtProviderConfig.ParsedJwt;

/**
 * A provider's cache of verified tokens, Envoy's {@code JwtProvider.jwt_cache_config}: keyed by the token string,
 * it holds the parsed token after its signature verified, so that the same token on a later request is not parsed
 * and verified again (its issuer, time, audiences and subject are still checked on every request). An entry
 * expires at the token's {@code exp} (plus the provider's clock skew): a lookup at or after that drops it. At most
 * {@code jwt_cache_size} entries (default 100), least recently used first out; tokens longer than
 * {@code jwt_max_token_size} bytes (default 4096) are not cached.
 *
 * <p>As in Envoy, each worker thread has its own cache (no lock on the request path); the caches belong to this
 * provider config and go away with it when a new config replaces it. Only worker threads, a fixed set, use it.
 */
final class JwtCache {

    /** Envoy's default {@code jwt_cache_size}. */
    static final int DEFAULT_SIZE = 100;
    /** Envoy's default {@code jwt_max_token_size}: 4 KiB. */
    static final int DEFAULT_MAX_TOKEN_SIZE = 4096;

    private final int size;
    private final int maxTokenSize;
    private final long clockSkewSeconds;
    private final Map<Thread, Lru> perThread = new ConcurrentHashMap<>();

    JwtCache(JwtCacheConfig config, long clockSkewSeconds) {
        this.size = config.getJwtCacheSize() == 0 ? DEFAULT_SIZE : config.getJwtCacheSize();
        this.maxTokenSize = config.getJwtMaxTokenSize() == 0 ? DEFAULT_MAX_TOKEN_SIZE : config.getJwtMaxTokenSize();
        this.clockSkewSeconds = clockSkewSeconds;
    }

    /** The most entries per worker. */
    int size() {
        return size;
    }

    /**
     * The verified token {@code token}, or null when it is not cached or expired at {@code nowSeconds} (an expired
     * entry is dropped).
     */
    ParsedJwt lookup(String token, long nowSeconds) {
        Lru lru = perThread.get(Thread.currentThread());
        if (lru == null) {
            return null;
        }
        TokenKey key = new TokenKey(token);
        ParsedJwt jwt = lru.get(key);
        if (jwt == null) {
            return null;
        }
        Long exp = jwt.numericClaim("exp");
        if (exp != null && nowSeconds > exp + clockSkewSeconds) {
            lru.remove(key);
            return null;
        }
        return jwt;
    }

    /** Remembers {@code jwt}, whose signature verified, under {@code token} (unless the token is too long). */
    void insert(String token, ParsedJwt jwt) {
        if (token.length() > maxTokenSize) {
            return;
        }
        perThread.computeIfAbsent(Thread.currentThread(), t -> new Lru(size)).put(new TokenKey(token), jwt);
    }

    /**
     * A hash of a token from its length and its last 32 characters (the signature's, which are random): a JWT is
     * several hundred characters, and {@link String#hashCode} over all of them costs more than the rest of a cache
     * hit. Equality stays {@link String#equals} over the whole token.
     */
    static int quickHash(String token) {
        int n = token.length();
        int h = n;
        for (int i = Math.max(0, n - 32); i < n; i++) {
            h = 31 * h + token.charAt(i);
        }
        return h;
    }

    /** A token as a map key, hashed with {@link #quickHash}. */
    record TokenKey(String token) {
        @Override
        public int hashCode() {
            return quickHash(token);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof TokenKey k && token.equals(k.token);
        }
    }

    /** An access-ordered map that drops its eldest entry past {@code max}; used by one thread. */
    private static final class Lru extends LinkedHashMap<TokenKey, ParsedJwt> {
        private static final long serialVersionUID = 1L;
        private final int max;

        Lru(int max) {
            super(16, 0.75f, true);
            this.max = max;
        }

        @Override
        protected boolean removeEldestEntry(Map.Entry<TokenKey, ParsedJwt> eldest) {
            return size() > max;
        }
    }
}
