package io.jmesh.proxy.filter.jwt;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Date;

import org.junit.jupiter.api.Test;

import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtCacheConfig;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider;
import io.jmesh.proxy.telemetry.Stats;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;

/**
 * The verified-token cache ({@code jwt_cache_config}) with the request time given explicitly (the clock seam of
 * {@link Verification}): a cached token skips the signature but not the time check, and an expired entry is dropped.
 * Real RS256 tokens signed in the test; real provider config, verification and counters.
 */
class JwtCacheTest {

    /** 2033-05-18T03:33:20Z: the tokens' expiry. */
    private static final long EXP = 2_000_000_000L;
    private static final long SKEW = 60;

    private final Stats stats = new Stats();

    private JwtProviderConfig provider(RSAKey key, JwtCacheConfig cache) throws Exception {
        JwtProvider.Builder p = JwtProvider.newBuilder().setIssuer(JwtTestKeys.ISSUER)
                .setLocalJwks(DataSource.newBuilder().setInlineString(JwtTestKeys.jwks(key)));
        if (cache != null) {
            p.setJwtCacheConfig(cache);
        }
        return JwtProviderConfig.create("p", p.build(), "providers[\"p\"]", () -> null, null,
                stats.counter("fetch_ok"), stats.counter("fetch_failed"), stats.counter("jwt_cache_hit"),
                stats.counter("jwt_cache_miss"));
    }

    private static String token(RSAKey key, String subject) throws Exception {
        return JwtTestKeys.sign(key, new JWTClaimsSet.Builder().issuer(JwtTestKeys.ISSUER).subject(subject)
                .expirationTime(new Date(EXP * 1000)).build());
    }

    private static HttpRequest request(String token) {
        HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
        r.headers().set("authorization", "Bearer " + token);
        return r;
    }

    private JwtStatus verifyAt(JwtProviderConfig p, String token, long nowSeconds) {
        return new Verification(request(token), nowSeconds).verify(p, null);
    }

    private long hits() {
        return stats.counter("jwt_cache_hit").get();
    }

    private long misses() {
        return stats.counter("jwt_cache_miss").get();
    }

    @Test
    void aRepeatedTokenIsTakenFromTheCacheUntilItExpires() throws Exception {
        RSAKey key = JwtTestKeys.rsa("k1");
        JwtProviderConfig p = provider(key, JwtCacheConfig.getDefaultInstance());
        assertEquals(JwtCache.DEFAULT_SIZE, p.jwtCache.size(), "jwt_cache_size 0 means Envoy's default, 100");
        String token = token(key, "alice");

        assertEquals(JwtStatus.OK, verifyAt(p, token, EXP - 3600));
        assertEquals(0, hits());
        assertEquals(1, misses());
        assertEquals(JwtStatus.OK, verifyAt(p, token, EXP - 10));
        assertEquals(JwtStatus.OK, verifyAt(p, token, EXP + SKEW), "within the clock skew");
        assertEquals(2, hits());
        assertEquals(1, misses());

        assertEquals(JwtStatus.JWT_EXPIRED, verifyAt(p, token, EXP + SKEW + 1), "a cached token still expires");
        assertEquals(2, hits());
        assertEquals(2, misses(), "the expired entry is not a hit");
        assertEquals(JwtStatus.OK, verifyAt(p, token, EXP - 10));
        assertEquals(2, hits());
        assertEquals(3, misses(), "the expired entry was dropped, so the token was verified again");
    }

    @Test
    void aTokenThatFailedIsNotCachedAndTheLeastRecentlyUsedGoesFirst() throws Exception {
        RSAKey key = JwtTestKeys.rsa("k1");
        RSAKey forger = JwtTestKeys.rsa("k1"); // same kid, another key
        JwtProviderConfig p = provider(key, JwtCacheConfig.newBuilder().setJwtCacheSize(2).build());
        String forged = token(forger, "mallory");
        assertEquals(JwtStatus.JWT_VERIFICATION_FAIL, verifyAt(p, forged, EXP - 3600));
        assertEquals(JwtStatus.JWT_VERIFICATION_FAIL, verifyAt(p, forged, EXP - 3600));
        assertEquals(0, hits());
        assertEquals(2, misses());

        String a = token(key, "a");
        String b = token(key, "b");
        String c = token(key, "c");
        verifyAt(p, a, EXP - 3600);
        verifyAt(p, b, EXP - 3600);
        verifyAt(p, a, EXP - 3600); // a is now the most recently used
        verifyAt(p, c, EXP - 3600); // b goes
        assertEquals(1, hits());
        assertEquals(JwtStatus.OK, verifyAt(p, a, EXP - 3600));
        assertEquals(JwtStatus.OK, verifyAt(p, c, EXP - 3600));
        assertEquals(3, hits());
        long missesBefore = misses();
        assertEquals(JwtStatus.OK, verifyAt(p, b, EXP - 3600));
        assertEquals(missesBefore + 1, misses(), "b was evicted");
    }

    @Test
    void tokensLongerThanJwtMaxTokenSizeAndProvidersWithoutCacheConfigAreVerifiedEveryTime() throws Exception {
        RSAKey key = JwtTestKeys.rsa("k1");
        String token = token(key, "alice");
        JwtProviderConfig small = provider(key, JwtCacheConfig.newBuilder().setJwtMaxTokenSize(token.length() - 1)
                .build());
        verifyAt(small, token, EXP - 3600);
        verifyAt(small, token, EXP - 3600);
        assertEquals(0, hits());
        assertEquals(2, misses());

        JwtProviderConfig none = provider(key, null);
        assertEquals(null, none.jwtCache);
        assertEquals(JwtStatus.OK, verifyAt(none, token, EXP - 3600));
        assertEquals(JwtStatus.OK, verifyAt(none, token, EXP - 3600));
        assertEquals(0, hits());
        assertEquals(4, misses(), "Envoy counts a miss for every verification outside the cache");
    }
}
