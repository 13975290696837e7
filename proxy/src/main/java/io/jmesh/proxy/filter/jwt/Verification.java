package io.jmesh.proxy.filter.jwt;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.nimbusds.jose.jwk.JWKSet;

import io.jmesh.proxy.filter.jwt.JwtProviderConfig.ParsedJwt;
import io.jmesh.proxy.filter.jwt.JwtProviderConfig.Token;
import io.netty.handler.codec.http.HttpRequest;

/**
 * The verification of one request: tokens extracted and parsed once, each (provider, token) verified once, the
 * verified ones remembered in order for their outputs. The keys were fetched before ({@link #keys}); a provider
 * whose fetch failed fails with {@link JwtStatus#JWKS_FETCH_FAIL}. Used on one event loop.
 */
final class Verification {

    /** A token that verified with a provider. */
    record Verified(JwtProviderConfig provider, Token token, ParsedJwt jwt) {}

    private final HttpRequest request;
    private final long nowSeconds;
    /**
     * Keys fetched for this request, when a provider's were not ready (written and read on the stream's loop); a
     * provider missing here uses its ready keys.
     */
    final Map<JwtProviderConfig, JWKSet> keys = new HashMap<>(2);
    private final Map<JwtProviderConfig, List<Token>> tokens = new HashMap<>();
    private final Map<JwtCache.TokenKey, Optional<ParsedJwt>> parsed = new HashMap<>(2);
    // Keyed by records holding the token string itself, never by a string built from it: the token's hash is
    // computed once per request (a JWT is several hundred characters) and nothing is copied.
    private final Map<OutcomeKey, JwtStatus> outcomes = new HashMap<>(2);
    final Map<VerifiedKey, Verified> verified = new LinkedHashMap<>(2);

    /** One verification: a provider, the audiences it was asked for (null: its own) and a token. */
    private record OutcomeKey(JwtProviderConfig provider, List<String> audiences, String token) {
        @Override
        public int hashCode() {
            return System.identityHashCode(provider) * 31 + JwtCache.quickHash(token);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof OutcomeKey k && provider == k.provider && java.util.Objects.equals(audiences, k.audiences)
                   && token.equals(k.token);
        }
    }

    /** One verified token of a provider. */
    private record VerifiedKey(String provider, String token) {
        @Override
        public int hashCode() {
            return provider.hashCode() * 31 + JwtCache.quickHash(token);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof VerifiedKey k && provider.equals(k.provider) && token.equals(k.token);
        }
    }

    Verification(HttpRequest request, long nowSeconds) {
        this.request = request;
        this.nowSeconds = nowSeconds;
    }

    List<Token> tokens(JwtProviderConfig p) {
        return tokens.computeIfAbsent(p, k -> k.extract(request));
    }

    ParsedJwt parse(String token) {
        return parsed.computeIfAbsent(new JwtCache.TokenKey(token), t -> Optional.ofNullable(ParsedJwt.parse(t.token())))
                .orElse(null);
    }

    /** Whether {@code p} needs its keys for this request: it has a token that claims its issuer. */
    boolean needsKeys(JwtProviderConfig p) {
        for (Token t : tokens(p)) {
            ParsedJwt j = parse(t.value());
            if (j != null && (p.issuer.isEmpty() || p.issuer.equals(j.issuer()))) {
                return true;
            }
        }
        return false;
    }

    /** Verifies {@code p}'s tokens (with {@code audiences} instead of the provider's when not null). */
    JwtStatus verify(JwtProviderConfig p, List<String> audiences) {
        List<Token> ts = tokens(p);
        if (ts.isEmpty()) {
            return JwtStatus.JWT_MISSED;
        }
        JwtStatus failure = null;
        for (Token t : ts) {
            OutcomeKey key = new OutcomeKey(p, audiences, t.value());
            JwtStatus s = outcomes.get(key);
            if (s == null) {
                s = verifyOne(p, t, audiences);
                outcomes.put(key, s);
            }
            if (s == JwtStatus.OK) {
                return s;
            }
            if (failure == null) {
                failure = s;
            }
        }
        return failure;
    }

    private JwtStatus verifyOne(JwtProviderConfig p, Token t, List<String> audiences) {
        // Envoy's jwt_cache_config: a token whose signature verified before is taken from the provider's cache
        // (jwt_cache_hit; its claims are still checked below), else parsed and verified (jwt_cache_miss).
        ParsedJwt cached = p.jwtCache == null ? null : p.jwtCache.lookup(t.value(), nowSeconds);
        (cached != null ? p.jwtCacheHit : p.jwtCacheMiss).inc();
        ParsedJwt jwt = cached != null ? cached : parse(t.value());
        if (jwt == null) {
            return JwtStatus.JWT_BAD_FORMAT;
        }
        JwtStatus s = p.checkClaims(jwt, nowSeconds, audiences);
        if (s != JwtStatus.OK) {
            return s;
        }
        if (cached != null) {
            verified.putIfAbsent(new VerifiedKey(p.name, t.value()), new Verified(p, t, jwt));
            return JwtStatus.OK;
        }
        JWKSet k = keys.get(p);
        if (k == null) {
            k = p.jwks.ready();
        }
        if (k == null) {
            return JwtStatus.JWKS_FETCH_FAIL;
        }
        s = JwtProviderConfig.verifySignature(jwt, k);
        if (s == JwtStatus.OK) {
            verified.putIfAbsent(new VerifiedKey(p.name, t.value()), new Verified(p, t, jwt));
            if (p.jwtCache != null) {
                p.jwtCache.insert(t.value(), jwt);
            }
        }
        return s;
    }

    List<Verified> verified() {
        return new ArrayList<>(verified.values());
    }
}
