package io.jmesh.proxy.filter.jwt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.testing.AccessLogFiles;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/**
 * {@code envoy.filters.http.jwt_authn} and {@code istio_authn} through a real proxy, with curl as the client, a real
 * backend and a real JWKS server; tokens are signed in the test with nimbus-jose-jwt.
 */
class JwtAuthnFilterTest {

    private static final String JWT = "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication";

    /** Istio's shape: one provider, {@code requires_any: [provider, allow_missing]} on every path. */
    private static String istioConfig(String providerFields) {
        return Bootstraps.typed(JWT, "providers: { p: { issuer: \"" + JwtTestKeys.ISSUER + "\", " + providerFields + " } },"
                + " rules: [ { match: { prefix: \"/\" }, requires: { requires_any: { requirements: ["
                + " { provider_name: p }, { allow_missing: {} } ] } } } ]");
    }

    private static String local(String jwks) {
        return "local_jwks: { inline_string: '" + jwks + "' }";
    }

    private static Bootstraps proxy(int backend, String jwtConfig) {
        return Bootstraps.http()
                .httpFilter("envoy.filters.http.jwt_authn", jwtConfig)
                .httpFilter("istio_authn", Bootstraps.typed("istio.envoy.config.filter.http.authn.v2alpha1.FilterConfig", ""))
                .route("/", "backend")
                .cluster("backend", backend);
    }

    @Test
    void verdictsOfRs256Es256AndHs256Tokens(@TempDir Path dir) throws Exception {
        RSAKey rsa = JwtTestKeys.rsa("rsa-1");
        ECKey ec = JwtTestKeys.ec("ec-1");
        OctetSequenceKey hs = JwtTestKeys.hmac("hs-1");
        RSAKey forger = JwtTestKeys.rsa("rsa-1"); // same kid, other key
        Path log = dir.resolve("access.log");
        String config = istioConfig("audiences: [ svc ], " + local(JwtTestKeys.jwks(rsa, ec, hs))
                + ", forward_payload_header: x-jwt-payload, payload_in_metadata: payload,"
                + " claim_to_headers: [ { header_name: x-jwt-group, claim_name: group } ]");
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = proxy(backend.port(), config)
                     .accessLog(log, "%RESPONSE_CODE% %RESPONSE_CODE_DETAILS%"
                             + " %DYNAMIC_METADATA(istio_authn:request.auth.principal)%"
                             + " %DYNAMIC_METADATA(envoy.filters.http.jwt_authn:payload:sub)%")
                     .start(2)) {
            String good = JwtTestKeys.token(rsa, Map.of("group", "admins"));
            Curl.Result ok = Curl.run("-H", "Authorization: Bearer " + good, proxy.url("/rs"));
            assertEquals(200, ok.status, ok.toString());
            assertTrue(ok.body.contains("header x-jwt-group=admins"), ok.body);
            String payload = new String(Base64.getUrlDecoder().decode(between(ok.body, "header x-jwt-payload=", "\n")),
                    StandardCharsets.UTF_8);
            assertTrue(payload.contains("\"sub\":\"alice\""), payload);
            assertFalse(ok.body.contains("header authorization="), "forward: false strips the token: " + ok.body);

            assertEquals(200, Curl.run("-H", "Authorization: Bearer " + JwtTestKeys.token(ec, Map.of()), proxy.url("/es")).status);
            assertEquals(200, Curl.run("-H", "Authorization: Bearer " + JwtTestKeys.token(hs, Map.of()), proxy.url("/hs")).status);

            Curl.Result none = Curl.run("-H", "x-jwt-group: forged", proxy.url("/none"));
            assertEquals(200, none.status, "no token passes (allow_missing)");
            assertFalse(none.body.contains("x-jwt-group"), "a claim header from the client is removed: " + none.body);

            Curl.Result expired = Curl.run("-H", "Authorization: Bearer " + JwtTestKeys.sign(rsa, claims()
                    .expirationTime(new Date(System.currentTimeMillis() - 3_600_000)).build()), proxy.url("/exp?q=1"));
            assertEquals(401, expired.status);
            assertEquals("Jwt is expired", expired.body);
            assertEquals("Bearer realm=\"http://127.0.0.1:" + proxy.port() + "/exp\", error=\"invalid_token\"",
                    expired.header("www-authenticate"));

            Curl.Result issuer = Curl.run("-H", "Authorization: Bearer " + JwtTestKeys.sign(rsa, claims()
                    .issuer("https://other.test").build()), proxy.url("/iss"));
            assertEquals(401, issuer.status);
            assertEquals("Jwt issuer is not configured", issuer.body);

            Curl.Result audience = Curl.run("-H", "Authorization: Bearer " + JwtTestKeys.sign(rsa, claims()
                    .audience("other").build()), proxy.url("/aud"));
            assertEquals(403, audience.status);
            assertEquals("Audiences in Jwt are not allowed", audience.body);

            Curl.Result forged = Curl.run("-H", "Authorization: Bearer " + JwtTestKeys.token(forger, Map.of()), proxy.url("/sig"));
            assertEquals(401, forged.status);
            assertEquals("Jwt verification fails", forged.body);

            Curl.Result garbage = Curl.run("-H", "Authorization: Bearer abc.def", proxy.url("/bad"));
            assertEquals(401, garbage.status);

            assertEquals(4, backend.requests.get(), "denied requests never reach the backend");
            assertEquals(4, proxy.counter("http.ingress.jwt_authn.allowed"));
            assertEquals(5, proxy.counter("http.ingress.jwt_authn.denied"));
            List<String> lines = AccessLogFiles.awaitLines(log, 9);
            assertEquals("200 via_upstream " + JwtTestKeys.ISSUER + "/alice alice", lines.get(0));
            assertEquals("200 via_upstream - -", lines.get(3));
            assertEquals("401 jwt_authn_access_denied{Jwt_is_expired} - -", lines.get(4));
        }
    }

    @Test
    void tokensFromHeaderParamAndCookie() throws Exception {
        RSAKey rsa = JwtTestKeys.rsa("rsa-1");
        String config = Bootstraps.typed(JWT, "providers: { p: { issuer: \"" + JwtTestKeys.ISSUER + "\", "
                + local(JwtTestKeys.jwks(rsa)) + ", from_headers: [ { name: x-token, value_prefix: \"Istio \" } ],"
                + " from_params: [ tok ], from_cookies: [ session ], forward: true },"
                + " q: { issuer: \"" + JwtTestKeys.ISSUER + "\", " + local(JwtTestKeys.jwks(rsa)) + ", from_params: [ t2 ] } },"
                + " rules: [ { match: { prefix: \"/q\" }, requires: { provider_name: q } },"
                + " { match: { prefix: \"/open\" } },"
                + " { match: { prefix: \"/\" }, requires: { provider_name: p } } ]");
        String token = JwtTestKeys.token(rsa, Map.of());
        try (TestBackend backend = TestBackend.start("b"); ProxyFixture proxy = proxy(backend.port(), config).start(2)) {
            Curl.Result header = Curl.run("-H", "x-token: Istio " + token, proxy.url("/h"));
            assertEquals(200, header.status, header.toString());
            assertTrue(header.body.contains("header x-token=Istio " + token), "forward: true keeps the token");
            assertEquals(200, Curl.run(proxy.url("/p?tok=" + token)).status);
            assertEquals(200, Curl.run("-H", "Cookie: a=b; session=" + token, proxy.url("/c")).status);
            assertEquals(401, Curl.run("-H", "Authorization: Bearer " + token, proxy.url("/h")).status,
                    "the default Authorization header is not a location once from_* is set");

            Curl.Result missing = Curl.run(proxy.url("/m"));
            assertEquals(401, missing.status);
            assertEquals("Jwt is missing", missing.body);
            assertEquals("Bearer realm=\"http://127.0.0.1:" + proxy.port() + "/m\"", missing.header("www-authenticate"));

            Curl.Result stripped = Curl.run(proxy.url("/q?a=1&t2=" + token));
            assertEquals(200, stripped.status);
            assertTrue(stripped.body.contains("uri=/q?a=1\n"), "forward: false strips the parameter: " + stripped.body);
            assertEquals(200, Curl.run(proxy.url("/open")).status, "a rule without requires verifies nothing");
        }
    }

    @Test
    void aHeaderTokenEndsAtTheFirstCharacterThatIsNotATokenCharacter() throws Exception {
        RSAKey rsa = JwtTestKeys.rsa("rsa-1");
        String config = Bootstraps.typed(JWT, "providers: { p: { issuer: \"" + JwtTestKeys.ISSUER + "\", "
                + local(JwtTestKeys.jwks(rsa)) + ", forward: true } },"
                + " rules: [ { match: { prefix: \"/\" }, requires: { provider_name: p } } ]");
        String token = JwtTestKeys.token(rsa, Map.of());
        try (TestBackend backend = TestBackend.start("b"); ProxyFixture proxy = proxy(backend.port(), config).start(1)) {
            assertEquals(200, Curl.run("-H", "Authorization: Bearer " + token + ", realm=x", proxy.url("/a")).status,
                    "the token ends at ','");
            assertEquals(200, Curl.run("-H", "Authorization: Bearer " + token + ";x", proxy.url("/b")).status);
            Curl.Result cut = Curl.run("-H", "Authorization: Bearer " + token.substring(0, 20) + "\u00e9"
                    + token.substring(20), proxy.url("/c"));
            assertEquals(401, cut.status, "a non-ASCII character ends the token, whose rest is then not a JWT: " + cut);
            assertEquals(401, Curl.run("-H", "Authorization: Bearer", proxy.url("/d")).status, "no token after the prefix");
            String notAnObject = token.substring(0, token.indexOf('.') + 1) + java.util.Base64.getUrlEncoder()
                    .withoutPadding().encodeToString("[1]".getBytes(java.nio.charset.StandardCharsets.UTF_8))
                    + token.substring(token.lastIndexOf('.'));
            Curl.Result bad = Curl.run("-H", "Authorization: Bearer " + notAnObject, proxy.url("/e"));
            assertEquals(401, bad.status, "a payload that is not a JSON object is a malformed JWT: " + bad);
        }
    }

    @Test
    void tokensThatShareTheirLastCharactersAreStillTwoTokensInTheCache() throws Exception {
        // The cache hashes a token by its length and its last 32 characters; equality must still compare it all.
        RSAKey rsa = JwtTestKeys.rsa("rsa-1");
        String config = Bootstraps.typed(JWT, "providers: { p: { issuer: \"" + JwtTestKeys.ISSUER + "\", "
                + local(JwtTestKeys.jwks(rsa)) + ", forward: true, jwt_cache_config: { jwt_cache_size: 10 } } },"
                + " rules: [ { match: { prefix: \"/\" }, requires: { provider_name: p } } ]");
        String good = JwtTestKeys.token(rsa, Map.of());
        // Same length and same signature (the last characters), another subject: its signature does not verify.
        int p1 = good.indexOf('.');
        int p2 = good.indexOf('.', p1 + 1);
        String payload = new String(java.util.Base64.getUrlDecoder().decode(good.substring(p1 + 1, p2)),
                java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(payload.contains("\"alice\""), payload);
        String forged = good.substring(0, p1 + 1) + java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(
                payload.replace("\"alice\"", "\"alicf\"").getBytes(java.nio.charset.StandardCharsets.UTF_8))
                + good.substring(p2);
        assertEquals(good.length(), forged.length());
        try (TestBackend backend = TestBackend.start("b"); ProxyFixture proxy = proxy(backend.port(), config).start(1)) {
            assertEquals(200, Curl.run("-H", "Authorization: Bearer " + good, proxy.url("/a")).status);
            assertEquals(200, Curl.run("-H", "Authorization: Bearer " + good, proxy.url("/a")).status);
            assertEquals(401, Curl.run("-H", "Authorization: Bearer " + forged, proxy.url("/b")).status,
                    "not taken for the cached token");
        }
    }

    @Test
    void remoteJwksFetchedThroughTheClusterCachedAndRefreshedAfterRotation() throws Exception {
        RSAKey first = JwtTestKeys.rsa("k1");
        RSAKey second = JwtTestKeys.rsa("k2");
        try (JwtTestKeys.JwksServer jwks = new JwtTestKeys.JwksServer(); TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = proxy(backend.port(), istioConfig("remote_jwks: { http_uri: { uri: \"http://jwks.test/jwks\","
                     + " cluster: jwks, timeout: 5s }, cache_duration: 1s }"))
                     .cluster("jwks", jwks.port())
                     .start(2)) {
            jwks.body.set(JwtTestKeys.jwks(first));
            String t1 = JwtTestKeys.token(first, Map.of());
            assertEquals(200, Curl.run("-H", "Authorization: Bearer " + t1, proxy.url("/a")).status);
            assertEquals(200, Curl.run(proxy.url("/no-token")).status, "no token needs no keys");
            assertEquals(1, jwks.hits.get());
            assertEquals(1, proxy.counter("http.ingress.jwt_authn.jwks_fetch_success"));

            jwks.body.set(JwtTestKeys.jwks(second));
            String t2 = JwtTestKeys.token(second, Map.of());
            Poll.until(() -> status("-H", "Authorization: Bearer " + t2, proxy.url("/b")) == 200,
                    "the rotated key is fetched once the cache expires");
            assertEquals(401, Curl.run("-H", "Authorization: Bearer " + t1, proxy.url("/c")).status,
                    "the retired key no longer verifies");
        }
    }

    @Test
    void jwksFetchFailureDeniesAndCounts() throws Exception {
        RSAKey rsa = JwtTestKeys.rsa("k1");
        try (JwtTestKeys.JwksServer jwks = new JwtTestKeys.JwksServer(); TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = proxy(backend.port(), istioConfig("remote_jwks: { http_uri: { uri: \"http://jwks.test/jwks\","
                     + " cluster: jwks, timeout: 5s } }"))
                     .cluster("jwks", jwks.port())
                     .start(2)) {
            jwks.status.set(500);
            Curl.Result r = Curl.run("-H", "Authorization: Bearer " + JwtTestKeys.token(rsa, Map.of()), proxy.url("/a"));
            assertEquals(401, r.status);
            assertEquals("Jwks remote fetch is failed", r.body);
            assertEquals(1, proxy.counter("http.ingress.jwt_authn.jwks_fetch_failed"));
            assertEquals(0, proxy.counter("http.ingress.jwt_authn.jwks_fetch_success"));
            assertEquals(0, backend.requests.get());

            jwks.status.set(200);
            jwks.body.set(JwtTestKeys.jwks(rsa));
            assertEquals(200, Curl.run("-H", "Authorization: Bearer " + JwtTestKeys.token(rsa, Map.of()), proxy.url("/b")).status,
                    "a failed fetch is not cached: the next request fetches again");
        }
    }

    @Test
    void asyncFetchLoadsKeysBeforeTheFirstRequest() throws Exception {
        RSAKey rsa = JwtTestKeys.rsa("k1");
        try (JwtTestKeys.JwksServer jwks = new JwtTestKeys.JwksServer(); TestBackend backend = TestBackend.start("b")) {
            jwks.body.set(JwtTestKeys.jwks(rsa));
            try (ProxyFixture proxy = proxy(backend.port(), istioConfig("remote_jwks: { http_uri: { uri: \"http://jwks.test/jwks\","
                    + " cluster: jwks, timeout: 5s }, async_fetch: {} }"))
                    .cluster("jwks", jwks.port())
                    .start(2)) {
                Poll.until(() -> proxy.counter("http.ingress.jwt_authn.jwks_fetch_success") == 1, "fetched at start");
                assertEquals(200, Curl.run("-H", "Authorization: Bearer " + JwtTestKeys.token(rsa, Map.of()), proxy.url("/a")).status);
                assertEquals(1, jwks.hits.get(), "the request used the keys fetched at start");
            }
        }
    }

    @Test
    void perRouteDisabledAndRequirementName() throws Exception {
        RSAKey rsa = JwtTestKeys.rsa("k1");
        String config = Bootstraps.typed(JWT, "providers: { p: { issuer: \"" + JwtTestKeys.ISSUER + "\", "
                + local(JwtTestKeys.jwks(rsa)) + " } }, requirement_map: { strict: { provider_name: p } }");
        String perRoute = "envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig";
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.http()
                     .httpFilter("envoy.filters.http.jwt_authn", config)
                     .route("/strict", "backend", "envoy.filters.http.jwt_authn", Bootstraps.typed(perRoute, "requirement_name: strict"))
                     .route("/off", "backend", "envoy.filters.http.jwt_authn", Bootstraps.typed(perRoute, "disabled: true"))
                     .route("/", "backend")
                     .cluster("backend", backend.port())
                     .start(2)) {
            assertEquals(401, Curl.run(proxy.url("/strict")).status);
            assertEquals(200, Curl.run("-H", "Authorization: Bearer " + JwtTestKeys.token(rsa, Map.of()), proxy.url("/strict")).status);
            assertEquals(200, Curl.run("-H", "Authorization: Bearer garbage", proxy.url("/off")).status);
            assertEquals(200, Curl.run(proxy.url("/other")).status, "no rules: nothing to verify");
        }
    }

    /**
     * Istio's claim routing on a gateway: the route matches {@code dynamic_metadata} at
     * {@code envoy.filters.http.jwt_authn / payload / <claim>} (a list element or the string), and the provider's
     * {@code clear_route_cache} makes the router choose the route again after verification.
     */
    @Test
    void routeChosenByClaimAfterVerification() throws Exception {
        RSAKey rsa = JwtTestKeys.rsa("k1");
        String claimIs = "dynamic_metadata: [ { filter: envoy.filters.http.jwt_authn, path: [ { key: payload }, { key: group } ],"
                + " value: { or_match: { value_matchers: [ { list_match: { one_of: { string_match: { exact: admins } } } },"
                + " { string_match: { exact: admins } } ] } } } ]";
        try (TestBackend v1 = TestBackend.start("v1"); TestBackend v2 = TestBackend.start("v2");
             ProxyFixture proxy = Bootstraps.http()
                     .httpFilter("envoy.filters.http.jwt_authn", istioConfig(local(JwtTestKeys.jwks(rsa))
                             + ", payload_in_metadata: payload, clear_route_cache: true"))
                     .routeYaml("{ match: { prefix: \"/\", " + claimIs + " }, route: { cluster: v2 } }")
                     .route("/", "v1")
                     .cluster("v1", v1.port())
                     .cluster("v2", v2.port())
                     .start(2)) {
            assertTrue(Curl.run("-H", "Authorization: Bearer " + JwtTestKeys.token(rsa, Map.of("group", "admins")),
                    proxy.url("/x")).body.contains("backend=v2"), "a string claim");
            assertTrue(Curl.run("-H", "Authorization: Bearer " + JwtTestKeys.token(rsa, Map.of("group", List.of("users", "admins"))),
                    proxy.url("/x")).body.contains("backend=v2"), "a list claim with the value");
            assertTrue(Curl.run("-H", "Authorization: Bearer " + JwtTestKeys.token(rsa, Map.of("group", "users")),
                    proxy.url("/x")).body.contains("backend=v1"));
            assertTrue(Curl.run(proxy.url("/x")).body.contains("backend=v1"), "no token, no claim");
        }
    }

    /** requires_all, provider_and_audiences and allow_missing_or_failed, over HTTP/1.1 and h2c. */
    @Test
    void requirementTrees() throws Exception {
        RSAKey rsa = JwtTestKeys.rsa("k1");
        String jwks = local(JwtTestKeys.jwks(rsa));
        String config = Bootstraps.typed(JWT, "providers: {"
                + " a: { issuer: \"" + JwtTestKeys.ISSUER + "\", " + jwks + ", from_headers: [ { name: x-a } ] },"
                + " b: { issuer: \"" + JwtTestKeys.ISSUER + "\", " + jwks + ", from_headers: [ { name: x-b } ],"
                + " forward_payload_header: x-b-payload } },"
                + " rules: ["
                + " { match: { prefix: \"/all\" }, requires: { requires_all: { requirements: [ { provider_name: a }, { provider_name: b } ] } } },"
                + " { match: { prefix: \"/aud\" }, requires: { provider_and_audiences: { provider_name: a, audiences: [ other ] } } },"
                + " { match: { prefix: \"/amf\" }, requires: { allow_missing_or_failed: {} } } ]");
        String svc = JwtTestKeys.token(rsa, Map.of());
        String other = JwtTestKeys.sign(rsa, claims().audience("other").build());
        try (TestBackend backend = TestBackend.start("b"); ProxyFixture proxy = proxy(backend.port(), config).start(2)) {
            assertEquals(200, Curl.run("-H", "x-a: " + svc, "-H", "x-b: " + svc, proxy.url("/all")).status);
            Curl.Result one = Curl.run("-H", "x-a: " + svc, proxy.url("/all"));
            assertEquals(401, one.status);
            assertEquals("Jwt is missing", one.body);
            assertEquals(403, Curl.run("-H", "x-a: " + svc, proxy.url("/aud")).status);
            assertEquals(200, Curl.run("-H", "x-a: " + other, proxy.url("/aud")).status);
            Curl.Result failed = Curl.run("-H", "x-b: garbage.garbage.garbage", proxy.url("/amf"));
            assertEquals(200, failed.status, "allow_missing_or_failed lets a bad token through");
            assertFalse(failed.body.contains("x-b-payload"), failed.body);
            assertTrue(Curl.run("-H", "x-b: " + svc, proxy.url("/amf")).body.contains("header x-b-payload="),
                    "a good token still sets its outputs");
            Curl.Result h2 = Curl.run("--http2-prior-knowledge", "-H", "x-a: " + svc, proxy.url("/aud"));
            assertEquals("HTTP/2", h2.httpVersion);
            assertEquals(403, h2.status);
            assertEquals("Bearer realm=\"http://127.0.0.1:" + proxy.port() + "/aud\", error=\"invalid_token\"",
                    h2.header("www-authenticate"));
        }
    }

    @Test
    void jwtCacheConfigSkipsVerifyingARepeatedTokenAndStillAppliesItsOutputs() throws Exception {
        RSAKey rsa = JwtTestKeys.rsa("rsa-1");
        RSAKey forger = JwtTestKeys.rsa("rsa-1");
        String config = istioConfig(local(JwtTestKeys.jwks(rsa)) + ", jwt_cache_config: { jwt_cache_size: 10 },"
                + " claim_to_headers: [ { header_name: x-jwt-group, claim_name: group } ]");
        try (TestBackend backend = TestBackend.start("b"); ProxyFixture proxy = proxy(backend.port(), config).start(1)) {
            String token = JwtTestKeys.token(rsa, Map.of("group", "admins"));
            for (int i = 0; i < 3; i++) {
                Curl.Result ok = Curl.run("-H", "Authorization: Bearer " + token, proxy.url("/c" + i));
                assertEquals(200, ok.status, ok.toString());
                assertTrue(ok.body.contains("header x-jwt-group=admins"), "outputs of a cached token too: " + ok.body);
                assertFalse(ok.body.contains("header authorization="), ok.body);
            }
            assertEquals(1, proxy.counter("http.ingress.jwt_authn.jwt_cache_miss"));
            assertEquals(2, proxy.counter("http.ingress.jwt_authn.jwt_cache_hit"));

            String forged = JwtTestKeys.token(forger, Map.of());
            assertEquals(401, Curl.run("-H", "Authorization: Bearer " + forged, proxy.url("/f1")).status);
            assertEquals(401, Curl.run("-H", "Authorization: Bearer " + forged, proxy.url("/f2")).status,
                    "a token that failed is not cached");
            assertEquals(3, proxy.counter("http.ingress.jwt_authn.jwt_cache_miss"));
            assertEquals(2, proxy.counter("http.ingress.jwt_authn.jwt_cache_hit"));
            assertEquals(3, backend.requests.get());
        }
    }

    @Test
    void configErrorsNameTheField() {
        ConfigException unknown = assertThrows(ConfigException.class, () -> proxy(1, Bootstraps.typed(JWT,
                "providers: { p: { issuer: x, local_jwks: { inline_string: '{\"keys\":[]}' } } }")).start(1));
        assertTrue(unknown.getMessage().contains("providers[\"p\"].local_jwks: {\"keys\":[]} (expected: a JWKS"),
                unknown.getMessage());
        ConfigException provider = assertThrows(ConfigException.class, () -> proxy(1, Bootstraps.typed(JWT,
                "rules: [ { match: { prefix: \"/\" }, requires: { provider_name: nope } } ]")).start(1));
        assertTrue(provider.getMessage().contains("rules[0].requires.provider_name: \"nope\" (expected: one of []"),
                provider.getMessage());
        ConfigException uri = assertThrows(ConfigException.class, () -> proxy(1, Bootstraps.typed(JWT,
                "providers: { p: { remote_jwks: { http_uri: { uri: \"ftp://x/jwks\", cluster: c, timeout: 1s } } } }")).start(1));
        assertTrue(uri.getMessage().contains("providers[\"p\"].remote_jwks.http_uri.uri: ftp://x/jwks (expected: an http or https URL"),
                uri.getMessage());
    }

    /** curl's status, for polling. */
    static int status(String... args) {
        try {
            return Curl.run(args).status;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static JWTClaimsSet.Builder claims() {
        return new JWTClaimsSet.Builder().issuer(JwtTestKeys.ISSUER).audience("svc").subject("alice")
                .expirationTime(new Date(System.currentTimeMillis() + 3_600_000));
    }

    private static String between(String s, String start, String end) {
        int i = s.indexOf(start);
        assertTrue(i >= 0, s);
        int j = s.indexOf(end, i + start.length());
        return s.substring(i + start.length(), j);
    }
}
