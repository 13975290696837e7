package io.jmesh.discovery.authn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

import io.jmesh.discovery.model.ResolvedJwks;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.TestCertificates;

/**
 * istiod's JWKS resolution against a real OpenID provider (the JDK's HTTP and HTTPS servers on port 0 of 127.0.0.1):
 * {@code <issuer>/.well-known/openid-configuration} names {@code jwks_uri}, whose key set is what the resolver
 * answers; a rotated key set reaches it on refresh (and says so); a provider that fails leaves the key absent and is
 * retried until it answers; a {@code jwksUri} of the rule is fetched directly; keys no longer wanted are forgotten.
 */
class JwksResolverTest {

    /** A JDK server playing an OpenID provider: its configuration, and a key set that tests may change. */
    private static final class Provider implements AutoCloseable {
        final HttpServer server;
        final AtomicReference<String> jwks = new AtomicReference<>();
        final AtomicInteger status = new AtomicInteger(200);
        final AtomicInteger configHits = new AtomicInteger();
        final AtomicInteger keyHits = new AtomicInteger();
        final String scheme;

        Provider(HttpServer server, String scheme) {
            this.server = server;
            this.scheme = scheme;
            server.createContext("/.well-known/openid-configuration", ex -> {
                configHits.incrementAndGet();
                if (status.get() != 200) {
                    send(ex, status.get(), "unavailable");
                    return;
                }
                send(ex, 200, "{\"issuer\":\"" + issuer() + "\",\"jwks_uri\":\"" + issuer() + "/keys\","
                        + "\"id_token_signing_alg_values_supported\":[\"RS256\"]}");
            });
            server.createContext("/keys", ex -> {
                keyHits.incrementAndGet();
                send(ex, 200, jwks.get());
            });
            server.start();
        }

        String issuer() {
            return scheme + "://127.0.0.1:" + server.getAddress().getPort();
        }

        private static void send(HttpExchange ex, int status, String body) throws IOException {
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("content-type", "application/json");
            ex.sendResponseHeaders(status, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    private static Provider http() throws IOException {
        return new Provider(HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0), "http");
    }

    private static String keySet(RSAKey key) {
        return new JWKSet(key.toPublicJWK()).toString();
    }

    @Test
    void openIdDiscoveryFindsTheKeysAndARefreshSeesTheirRotation() throws Exception {
        AtomicInteger changes = new AtomicInteger();
        try (Provider idp = http();
             JwksResolver resolver = new JwksResolver(ResolvedJwks.FetchMode.ENVOY, Duration.ofMillis(300),
                     Duration.ofSeconds(5), null, changes::incrementAndGet)) {
            String first = keySet(new RSAKeyGenerator(2048).keyID("k1").generate());
            idp.jwks.set(first);
            ResolvedJwks.Key key = new ResolvedJwks.Key(idp.issuer(), "");
            Map<ResolvedJwks.Key, String> wanted = Map.of(key, "RequestAuthentication/foo/jwt: spec.jwtRules[0]");
            assertEquals(first, resolver.resolve(wanted).get(key), "fetched at once: the first push has the keys");
            assertEquals(0, changes.get(), "what resolve() fetched needs no extra push");

            String second = keySet(new RSAKeyGenerator(2048).keyID("k2").generate());
            idp.jwks.set(second);
            Poll.until(() -> changes.get() == 1, "a refresh seeing the rotated key set");
            assertEquals(second, resolver.resolve(wanted).get(key));
            assertEquals(0, resolver.fetchFailures());
        }
    }

    @Test
    void aFailingProviderLeavesTheKeyAbsentAndIsRetriedUntilItAnswers() throws Exception {
        AtomicInteger changes = new AtomicInteger();
        try (Provider idp = http();
             JwksResolver resolver = new JwksResolver(ResolvedJwks.FetchMode.ENVOY, Duration.ofMinutes(20),
                     Duration.ofSeconds(5), null, changes::incrementAndGet)) {
            String keys = keySet(new RSAKeyGenerator(2048).keyID("k1").generate());
            idp.jwks.set(keys);
            idp.status.set(503);
            ResolvedJwks.Key key = new ResolvedJwks.Key(idp.issuer(), "");
            Map<ResolvedJwks.Key, String> wanted = Map.of(key, "RequestAuthentication/foo/jwt: spec.jwtRules[0]");
            assertNull(resolver.resolve(wanted).get(key), "no keys while the provider fails");
            assertEquals(1, resolver.fetchFailures());
            assertEquals(0, idp.keyHits.get());

            idp.status.set(200);
            Poll.until(() -> changes.get() == 1, "a retry that gets the keys, then a push");
            assertEquals(keys, resolver.resolve(wanted).get(key));
        }
    }

    @Test
    void concurrentResolvesBothWaitForTheFirstFetch() throws Exception {
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        HttpServer slow = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        String keys = keySet(new RSAKeyGenerator(2048).keyID("k1").generate());
        slow.createContext("/keys", ex -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            Provider.send(ex, 200, keys);
        });
        slow.start();
        java.util.concurrent.ExecutorService callers = java.util.concurrent.Executors.newFixedThreadPool(2);
        try (JwksResolver resolver = new JwksResolver(ResolvedJwks.FetchMode.ISTIOD, Duration.ofMinutes(20),
                Duration.ofSeconds(5), null, () -> { })) {
            ResolvedJwks.Key key = new ResolvedJwks.Key("https://issuer.test",
                    "http://127.0.0.1:" + slow.getAddress().getPort() + "/keys");
            Map<ResolvedJwks.Key, String> wanted = Map.of(key, "RequestAuthentication/foo/jwt: spec.jwtRules[0]");
            var first = callers.submit(() -> resolver.resolve(wanted));
            var second = callers.submit(() -> resolver.resolve(wanted));
            release.countDown();
            assertEquals(keys, first.get().get(key));
            assertEquals(keys, second.get().get(key), "the second resolve() waited for the fetch the first started");
        } finally {
            callers.shutdownNow();
            slow.stop(0);
        }
    }

    @Test
    void aJwksUriIsFetchedDirectlyAndKeysNoLongerWantedAreForgotten() throws Exception {
        try (Provider idp = http();
             JwksResolver resolver = new JwksResolver(ResolvedJwks.FetchMode.ISTIOD, Duration.ofMinutes(20),
                     Duration.ofSeconds(5), null, () -> { })) {
            String keys = keySet(new RSAKeyGenerator(2048).keyID("k1").generate());
            idp.jwks.set(keys);
            ResolvedJwks.Key key = new ResolvedJwks.Key("https://issuer.test", idp.issuer() + "/keys");
            ResolvedJwks r = resolver.resolve(Map.of(key, "RequestAuthentication/foo/jwt: spec.jwtRules[0]"));
            assertEquals(ResolvedJwks.FetchMode.ISTIOD, r.mode());
            assertEquals(Map.of(key, keys), r.keys());
            assertEquals(0, idp.configHits.get(), "a jwksUri needs no OpenID discovery");
            assertEquals(Map.of(), resolver.resolve(Map.of()).keys());
            assertEquals(1, idp.keyHits.get());
            resolver.resolve(Map.of(key, "RequestAuthentication/foo/jwt: spec.jwtRules[0]"));
            assertEquals(2, idp.keyHits.get(), "a forgotten key is fetched again when wanted again");
        }
    }

    @Test
    void anHttpsProviderIsVerifiedWithTheTrustGiven(@TempDir Path dir) throws Exception {
        TestCertificates ca = TestCertificates.create(dir.resolve("ca"));
        TestCertificates.Issued leaf = ca.issue("idp", null, List.of("localhost"));
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("leaf", leaf.key(), new char[0], new Certificate[] {leaf.certificate(), ca.caX509()});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        SSLContext serverTls = SSLContext.getInstance("TLS");
        serverTls.init(kmf.getKeyManagers(), null, null);
        HttpsServer https = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        https.setHttpsConfigurator(new HttpsConfigurator(serverTls));

        KeyStore roots = KeyStore.getInstance("PKCS12");
        roots.load(null, null);
        roots.setCertificateEntry("ca", ca.caX509());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(roots);
        SSLContext clientTls = SSLContext.getInstance("TLS");
        clientTls.init(null, tmf.getTrustManagers(), null);

        try (Provider idp = new Provider(https, "https");
             JwksResolver trusting = new JwksResolver(ResolvedJwks.FetchMode.ENVOY, Duration.ofMinutes(20),
                     Duration.ofSeconds(5), clientTls, () -> { });
             JwksResolver untrusting = new JwksResolver(ResolvedJwks.FetchMode.ENVOY, Duration.ofMinutes(20),
                     Duration.ofSeconds(5), null, () -> { })) {
            String keys = keySet(new RSAKeyGenerator(2048).keyID("k1").generate());
            idp.jwks.set(keys);
            ResolvedJwks.Key key = new ResolvedJwks.Key(idp.issuer(), "");
            Map<ResolvedJwks.Key, String> wanted = Map.of(key, "RequestAuthentication/foo/jwt: spec.jwtRules[0]");
            assertEquals(keys, trusting.resolve(wanted).get(key));
            assertNull(untrusting.resolve(wanted).get(key), "a certificate the JDK's roots do not know is refused");
            assertEquals(1, untrusting.fetchFailures());
        }
    }
}
