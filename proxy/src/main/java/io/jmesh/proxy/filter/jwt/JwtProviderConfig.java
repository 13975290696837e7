package io.jmesh.proxy.filter.jwt;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Key;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.util.Durations;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.factories.DefaultJWSVerifierFactory;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyType;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.SignedJWT;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtClaimToHeader;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtHeader;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RemoteJwks;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.router.StringMatch;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.upstream.ClusterManager;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.QueryStringDecoder;

/**
 * One {@code JwtProvider}, validated: where its tokens are (headers with a value prefix, query parameters,
 * cookies; by default {@code Authorization: Bearer} and {@code access_token}), how they are checked (issuer,
 * audiences, subjects, time with {@code clock_skew_seconds}, signature against the {@link JwksSource}) and what a
 * verified token leaves behind (forward or strip, payload header, metadata, claim headers). Immutable.
 */
final class JwtProviderConfig {

    private static final Logger logger = LoggerFactory.getLogger(JwtProviderConfig.class);
    private static final Set<String> ALGORITHM_FAMILIES = Set.of("RS", "PS", "ES", "HS");
    private static final long DEFAULT_CACHE_MILLIS = 600_000;
    private static final long DEFAULT_FAILED_REFETCH_MILLIS = 1_000;
    private static final long DEFAULT_FETCH_TIMEOUT_MILLIS = 1_000;

    /** A header to read a token from, with the prefix before the token ({@code "Bearer "}); lower-case name. */
    record HeaderLocation(String name, String valuePrefix) {}

    final String name;
    final String issuer;
    final List<String> audiences;
    final StringMatch subjects;
    final boolean requireExpiration;
    final boolean forward;
    final String forwardPayloadHeader;
    final boolean padForwardPayloadHeader;
    final String payloadInMetadata;
    final String headerInMetadata;
    final long clockSkewSeconds;
    final boolean clearRouteCache;
    final List<HeaderLocation> fromHeaders;
    final List<String> fromParams;
    final List<String> fromCookies;
    final List<JwtClaimToHeader> claimToHeaders;
    final JwksSource jwks;
    /** The verified-token cache ({@code jwt_cache_config}), or null when the provider has none. */
    final JwtCache jwtCache;
    /** {@code jwt_cache_hit} and {@code jwt_cache_miss} of the filter's stats. */
    final Counter jwtCacheHit;
    final Counter jwtCacheMiss;

    private JwtProviderConfig(String name, JwtProvider p, StringMatch subjects, JwksSource jwks, Counter jwtCacheHit,
                              Counter jwtCacheMiss) {
        this.name = name;
        this.issuer = p.getIssuer();
        this.audiences = List.copyOf(p.getAudiencesList());
        this.subjects = subjects;
        this.requireExpiration = p.getRequireExpiration();
        this.forward = p.getForward();
        this.forwardPayloadHeader = p.getForwardPayloadHeader().toLowerCase(java.util.Locale.ROOT);
        this.padForwardPayloadHeader = p.getPadForwardPayloadHeader();
        this.payloadInMetadata = p.getPayloadInMetadata();
        this.headerInMetadata = p.getHeaderInMetadata();
        this.clockSkewSeconds = p.getClockSkewSeconds() == 0 ? 60 : p.getClockSkewSeconds();
        this.clearRouteCache = p.getClearRouteCache();
        boolean defaults = p.getFromHeadersCount() == 0 && p.getFromParamsCount() == 0 && p.getFromCookiesCount() == 0;
        List<HeaderLocation> headers = new ArrayList<>();
        if (defaults) {
            headers.add(new HeaderLocation("authorization", "Bearer "));
        }
        for (JwtHeader h : p.getFromHeadersList()) {
            headers.add(new HeaderLocation(h.getName().toLowerCase(java.util.Locale.ROOT), h.getValuePrefix()));
        }
        this.fromHeaders = List.copyOf(headers);
        this.fromParams = defaults ? List.of("access_token") : List.copyOf(p.getFromParamsList());
        this.fromCookies = List.copyOf(p.getFromCookiesList());
        this.claimToHeaders = List.copyOf(p.getClaimToHeadersList());
        this.jwks = jwks;
        this.jwtCache = p.hasJwtCacheConfig() ? new JwtCache(p.getJwtCacheConfig(), clockSkewSeconds) : null;
        this.jwtCacheHit = jwtCacheHit;
        this.jwtCacheMiss = jwtCacheMiss;
    }

    /**
     * Validates {@code p}; {@code path} names it in errors ({@code providers["name"]}); the counters are the filter's
     * {@code jwks_fetch_success}, {@code jwks_fetch_failed}, {@code jwt_cache_hit} and {@code jwt_cache_miss}.
     */
    static JwtProviderConfig create(String name, JwtProvider p, String path, Supplier<ClusterManager> clusters,
                                    io.netty.channel.EventLoopGroup loops, Counter fetchSuccess, Counter fetchFailed,
                                    Counter cacheHit, Counter cacheMiss)
            throws ConfigException {
        if (p.hasMaxLifetime()) {
            throw new ConfigException(path + ".max_lifetime: " + Durations.toString(p.getMaxLifetime())
                    + " (expected: unset; not supported by jmesh)");
        }
        if (p.hasNormalizePayloadInMetadata()) {
            throw new ConfigException(path + ".normalize_payload_in_metadata: (expected: unset; not supported by jmesh)");
        }
        if (!p.getFailedStatusInMetadata().isEmpty()) {
            throw new ConfigException(path + ".failed_status_in_metadata: \"" + p.getFailedStatusInMetadata()
                    + "\" (expected: unset; not supported by jmesh)");
        }
        for (int i = 0; i < p.getFromHeadersCount(); i++) {
            checkHeaderName(p.getFromHeaders(i).getName(), path + ".from_headers[" + i + "].name");
        }
        for (int i = 0; i < p.getFromParamsCount(); i++) {
            if (p.getFromParams(i).isEmpty()) {
                throw new ConfigException(path + ".from_params[" + i + "]: \"\" (expected: a parameter name)");
            }
        }
        for (int i = 0; i < p.getFromCookiesCount(); i++) {
            if (p.getFromCookies(i).isEmpty()) {
                throw new ConfigException(path + ".from_cookies[" + i + "]: \"\" (expected: a cookie name)");
            }
        }
        if (!p.getForwardPayloadHeader().isEmpty()) {
            checkHeaderName(p.getForwardPayloadHeader(), path + ".forward_payload_header");
        }
        for (int i = 0; i < p.getClaimToHeadersCount(); i++) {
            JwtClaimToHeader c = p.getClaimToHeaders(i);
            checkHeaderName(c.getHeaderName(), path + ".claim_to_headers[" + i + "].header_name");
            if (c.getClaimName().isEmpty()) {
                throw new ConfigException(path + ".claim_to_headers[" + i + "].claim_name: \"\" (expected: a claim name)");
            }
        }
        StringMatch subjects = p.hasSubjects() ? StringMatch.from(p.getSubjects(), path + ".subjects") : null;
        JwksSource jwks;
        if (p.hasLocalJwks()) {
            jwks = JwksSource.local(localJwks(p.getLocalJwks(), path + ".local_jwks"));
        } else if (p.hasRemoteJwks()) {
            jwks = remote(name, p.getRemoteJwks(), path + ".remote_jwks", clusters, loops, fetchSuccess, fetchFailed);
        } else {
            throw new ConfigException(path + ": no jwks (expected: remote_jwks or local_jwks)");
        }
        return new JwtProviderConfig(name, p, subjects, jwks, cacheHit, cacheMiss);
    }

    private static void checkHeaderName(String name, String path) throws ConfigException {
        if (name.isEmpty() || !name.chars().allMatch(c -> c > 0x20 && c < 0x7f && "()<>@,;:\\\"/[]?={}".indexOf(c) < 0)) {
            throw new ConfigException(path + ": \"" + name + "\" (expected: an HTTP header name)");
        }
    }

    private static JWKSet localJwks(DataSource ds, String path) throws ConfigException {
        String json;
        switch (ds.getSpecifierCase()) {
            case INLINE_STRING -> json = ds.getInlineString();
            case INLINE_BYTES -> json = ds.getInlineBytes().toStringUtf8();
            case FILENAME -> {
                try {
                    json = Files.readString(Path.of(ds.getFilename()), StandardCharsets.UTF_8);
                } catch (java.io.IOException e) {
                    throw new ConfigException(path + ".filename: " + ds.getFilename() + " (expected: a readable file: "
                            + e.getMessage() + ")", e);
                }
            }
            default -> throw new ConfigException(path + ": " + ds.getSpecifierCase()
                    + " (expected: inline_string, inline_bytes or filename)");
        }
        try {
            return JwksSource.parse(json);
        } catch (java.text.ParseException e) {
            throw new ConfigException(path + ": " + abbreviate(json) + " (expected: a JWKS: " + e.getMessage() + ")", e);
        }
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    private static JwksSource remote(String provider, RemoteJwks r, String path, Supplier<ClusterManager> clusters,
                                     io.netty.channel.EventLoopGroup loops, Counter ok, Counter failed)
            throws ConfigException {
        if (!r.hasHttpUri()) {
            throw new ConfigException(path + ".http_uri: (expected: set)");
        }
        URI uri;
        try {
            uri = new URI(r.getHttpUri().getUri());
        } catch (java.net.URISyntaxException e) {
            throw new ConfigException(path + ".http_uri.uri: " + r.getHttpUri().getUri() + " (expected: a URL)", e);
        }
        if (uri.getHost() == null || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))) {
            throw new ConfigException(path + ".http_uri.uri: " + r.getHttpUri().getUri()
                    + " (expected: an http or https URL with a host)");
        }
        if (r.getHttpUri().getCluster().isEmpty()) {
            throw new ConfigException(path + ".http_uri.cluster: \"\" (expected: the cluster to fetch through)");
        }
        if (r.hasRetryPolicy()) {
            logger.warn("{}.retry_policy: not supported, ignored (a failed fetch is retried by the next request)", path);
        }
        long timeout = r.getHttpUri().hasTimeout() ? Durations.toMillis(r.getHttpUri().getTimeout())
                : DEFAULT_FETCH_TIMEOUT_MILLIS;
        long cache = r.hasCacheDuration() ? Durations.toMillis(r.getCacheDuration()) : DEFAULT_CACHE_MILLIS;
        if (cache <= 0) {
            throw new ConfigException(path + ".cache_duration: " + Durations.toString(r.getCacheDuration())
                    + " (expected: > 0s)");
        }
        long refetch = r.getAsyncFetch().hasFailedRefetchDuration()
                ? Durations.toMillis(r.getAsyncFetch().getFailedRefetchDuration()) : DEFAULT_FAILED_REFETCH_MILLIS;
        JwksSource.Remote remote = new JwksSource.Remote(provider, uri, r.getHttpUri().getCluster(), timeout, cache,
                refetch, clusters, ok, failed);
        if (r.hasAsyncFetch() && loops != null) {
            remote.startAsync(loops);
        }
        return remote;
    }

    // ------------------------------------------------------------------ extraction

    /** A token found in the request and where: to strip it when {@code forward} is false. */
    record Token(String value, String header, String param) {}

    /** The tokens in this provider's locations, in order: headers, then parameters, then cookies. */
    List<Token> extract(HttpRequest request) {
        List<Token> out = new ArrayList<>(1);
        HttpHeaders h = request.headers();
        for (HeaderLocation l : fromHeaders) {
            for (String v : h.getAll(l.name)) {
                String t = afterPrefix(v, l.valuePrefix);
                if (t != null) {
                    out.add(new Token(t, l.name, null));
                }
            }
        }
        if (!fromParams.isEmpty() && request.uri().indexOf('?') >= 0) {
            Map<String, List<String>> params = new QueryStringDecoder(request.uri()).parameters();
            for (String p : fromParams) {
                for (String v : params.getOrDefault(p, List.of())) {
                    if (!v.isEmpty()) {
                        out.add(new Token(v, null, p));
                    }
                }
            }
        }
        if (!fromCookies.isEmpty()) {
            for (String cookieHeader : h.getAll(HttpHeaderNames.COOKIE)) {
                for (String pair : cookieHeader.split(";")) {
                    int eq = pair.indexOf('=');
                    if (eq > 0 && fromCookies.contains(pair.substring(0, eq).trim())) {
                        String v = pair.substring(eq + 1).trim();
                        if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
                            v = v.substring(1, v.length() - 1);
                        }
                        if (!v.isEmpty()) {
                            out.add(new Token(v, null, null));
                        }
                    }
                }
            }
        }
        return out;
    }

    /** The token after {@code prefix} in a header value (Envoy finds the prefix anywhere), or null. */
    private static String afterPrefix(String value, String prefix) {
        int start = 0;
        if (!prefix.isEmpty()) {
            int i = value.indexOf(prefix);
            if (i < 0) {
                return null;
            }
            start = i + prefix.length();
        }
        // One copy of the value's bytes, scanned as bytes: a JWT is several hundred characters. A character past
        // Latin-1 becomes '?', which ends the token as the character itself would.
        byte[] b = value.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        int end = start;
        while (end < b.length && b[end] >= 0 && TOKEN_CHARS[b[end]]) {
            end++;
        }
        return end > start ? new String(b, start, end - start, java.nio.charset.StandardCharsets.ISO_8859_1) : null;
    }

    /** The characters of a JWT as Envoy extracts it: base64url, '.', and '=', '+', '/' (base64 with padding). */
    private static final boolean[] TOKEN_CHARS = new boolean[128];

    static {
        for (char c = 0; c < 128; c++) {
            TOKEN_CHARS[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
                             || c == '_' || c == '.' || c == '=' || c == '+' || c == '/';
        }
    }

    // ------------------------------------------------------------------ verification

    /** Checks everything but the signature (which needs the keys): issuer, time, audiences, subject. */
    JwtStatus checkClaims(ParsedJwt jwt, long nowSeconds, List<String> allowedAudiences) {
        List<String> audiences = allowedAudiences == null ? this.audiences : allowedAudiences;
        if (!issuer.isEmpty() && !issuer.equals(jwt.issuer())) {
            return JwtStatus.JWT_UNKNOWN_ISSUER;
        }
        Long exp = jwt.numericClaim("exp");
        Long nbf = jwt.numericClaim("nbf");
        if (exp == null && requireExpiration) {
            return JwtStatus.JWT_EXPIRED;
        }
        if (exp != null && nowSeconds > exp + clockSkewSeconds) {
            return JwtStatus.JWT_EXPIRED;
        }
        if (nbf != null && nowSeconds + clockSkewSeconds < nbf) {
            return JwtStatus.JWT_NOT_YET_VALID;
        }
        if (!audiences.isEmpty() && !audienceAllowed(jwt.audiences(), audiences)) {
            return JwtStatus.JWT_AUDIENCE_NOT_ALLOWED;
        }
        if (subjects != null && !subjects.matches(jwt.subject() == null ? "" : jwt.subject())) {
            return JwtStatus.JWT_VERIFICATION_FAIL;
        }
        return JwtStatus.OK;
    }

    /** Envoy's audience check: scheme prefix and trailing slash do not count. */
    private static boolean audienceAllowed(List<String> tokenAudiences, List<String> audiences) {
        for (String a : tokenAudiences) {
            String s = sanitizeAudience(a);
            for (String allowed : audiences) {
                if (sanitizeAudience(allowed).equals(s)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static String sanitizeAudience(String a) {
        String s = a.startsWith("http://") ? a.substring(7) : a.startsWith("https://") ? a.substring(8) : a;
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    /** Verifies the signature with {@code keys}: the keys of the token's {@code kid} (all when it has none). */
    static JwtStatus verifySignature(ParsedJwt jwt, JWKSet keys) {
        JWSHeader header = jwt.jwt().getHeader();
        JWSAlgorithm alg = header.getAlgorithm();
        if (alg == null || alg.getName().length() < 2 || !ALGORITHM_FAMILIES.contains(alg.getName().substring(0, 2))) {
            return JwtStatus.JWT_HEADER_BAD_ALG;
        }
        boolean tried = false;
        for (JWK k : keys.getKeys()) {
            if (header.getKeyID() != null && k.getKeyID() != null && !header.getKeyID().equals(k.getKeyID())) {
                continue;
            }
            if (k.getAlgorithm() != null && !k.getAlgorithm().getName().equals(alg.getName())) {
                continue;
            }
            Key key = keyFor(k, alg);
            if (key == null) {
                continue;
            }
            tried = true;
            try {
                JWSVerifier v = new DefaultJWSVerifierFactory().createJWSVerifier(header, key);
                if (jwt.jwt().verify(v)) {
                    return JwtStatus.OK;
                }
            } catch (JOSEException | RuntimeException e) {
                // a key that cannot verify this token (size, curve): try the next one
            }
        }
        return tried ? JwtStatus.JWT_VERIFICATION_FAIL : JwtStatus.JWKS_KID_ALG_MISMATCH;
    }

    private static Key keyFor(JWK k, JWSAlgorithm alg) {
        try {
            String family = alg.getName().substring(0, 2);
            if ((family.equals("RS") || family.equals("PS")) && k.getKeyType() == KeyType.RSA) {
                return ((RSAKey) k).toRSAPublicKey();
            }
            if (family.equals("ES") && k.getKeyType() == KeyType.EC) {
                return ((ECKey) k).toECPublicKey();
            }
            if (family.equals("HS") && k.getKeyType() == KeyType.OCT) {
                return ((OctetSequenceKey) k).toSecretKey();
            }
        } catch (JOSEException e) {
            return null;
        }
        return null;
    }

    /** The payload as sent upstream in {@code forward_payload_header}: base64url, padded if asked. */
    String encodedPayload(ParsedJwt jwt) {
        String b64 = jwt.jwt().getParsedParts()[1].toString();
        if (!padForwardPayloadHeader) {
            return b64;
        }
        byte[] raw = Base64.getUrlDecoder().decode(b64);
        return Base64.getUrlEncoder().encodeToString(raw);
    }

    /**
     * A parsed (not yet verified) token. Its payload and JOSE header as protobuf {@code Struct}s (for dynamic
     * metadata) are made on first use and kept, so that a token from the {@link JwtCache} is not converted again.
     */
    static final class ParsedJwt {
        private final SignedJWT jwt;
        private final Map<String, Object> claims;
        private final String payloadJson;
        /** Immutable once made; a racing second conversion would make an equal one. */
        private com.google.protobuf.Struct payloadStruct;
        private com.google.protobuf.Struct headerStruct;

        ParsedJwt(SignedJWT jwt, Map<String, Object> claims, String payloadJson) {
            this.jwt = jwt;
            this.claims = claims;
            this.payloadJson = payloadJson;
        }

        SignedJWT jwt() {
            return jwt;
        }

        Map<String, Object> claims() {
            return claims;
        }

        String payloadJson() {
            return payloadJson;
        }

        /** The payload as a {@code Struct} (empty when it is not a JSON object). */
        com.google.protobuf.Struct payloadStruct() {
            com.google.protobuf.Struct s = payloadStruct;
            if (s == null) {
                s = JwtAuthnFilter.toStruct(payloadJson);
                payloadStruct = s;
            }
            return s;
        }

        /** The JOSE header as a {@code Struct}. */
        com.google.protobuf.Struct headerStruct() {
            com.google.protobuf.Struct s = headerStruct;
            if (s == null) {
                s = JwtAuthnFilter.toStruct(jwt.getHeader().toString());
                headerStruct = s;
            }
            return s;
        }

        static ParsedJwt parse(String token) {
            try {
                SignedJWT jwt = SignedJWT.parse(token);
                Map<String, Object> claims = jwt.getPayload().toJSONObject();
                // A payload that is not a JSON object (Envoy: JwtBadFormat) is not a JWT.
                return claims == null ? null : new ParsedJwt(jwt, claims, jwt.getPayload().toString());
            } catch (java.text.ParseException | RuntimeException e) {
                return null;
            }
        }

        String issuer() {
            return claims.get("iss") instanceof String s ? s : null;
        }

        String subject() {
            return claims.get("sub") instanceof String s ? s : null;
        }

        Long numericClaim(String name) {
            return claims.get(name) instanceof Number n ? n.longValue() : null;
        }

        List<String> audiences() {
            Object a = claims.get("aud");
            if (a instanceof String s) {
                return List.of(s);
            }
            if (a instanceof List<?> l) {
                List<String> out = new ArrayList<>();
                for (Object o : l) {
                    if (o instanceof String s) {
                        out.add(s);
                    }
                }
                return out;
            }
            return List.of();
        }
    }
}
