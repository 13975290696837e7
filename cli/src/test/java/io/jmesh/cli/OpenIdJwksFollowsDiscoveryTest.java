package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.TestBackend;

/**
 * End to end, a RequestAuthentication rule with an {@code issuer} and no {@code jwksUri} or {@code jwks}: discovery
 * finds the keys by OpenID discovery ({@code <issuer>/.well-known/openid-configuration} → {@code jwks_uri}, real JDK
 * HTTP servers on port 0 of 127.0.0.1) and sends them inline to the sidecar of {@code httpbin.foo}, which then
 * accepts that issuer's tokens (200), refuses a token signed by another key (401) and lets a request without a token
 * through. A second issuer whose provider fails gets istiod's fake key: its tokens are refused (401) until the
 * provider answers, and then accepted without touching the config.
 */
class OpenIdJwksFollowsDiscoveryTest {

    private static final String INBOUND = "127.0.0.24";

    @TempDir
    Path dir;

    /** A JDK server playing an OpenID provider whose key set is {@code keys}; 503 while {@code down}. */
    private static HttpServer provider(RSAKey keys, AtomicBoolean down) throws Exception {
        HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        String issuer = "http://127.0.0.1:";
        s.createContext("/.well-known/openid-configuration", ex -> {
            int port = s.getAddress().getPort();
            send(ex, down.get() ? 503 : 200, "{\"issuer\":\"" + issuer + port + "\",\"jwks_uri\":\"" + issuer + port
                    + "/oauth2/keys\"}");
        });
        s.createContext("/oauth2/keys", ex -> send(ex, 200, new JWKSet(keys.toPublicJWK()).toString()));
        s.start();
        return s;
    }

    private static void send(HttpExchange ex, int status, String body) throws java.io.IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
        ex.close();
    }

    private static String token(RSAKey key, String issuer) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(),
                new JWTClaimsSet.Builder().issuer(issuer).subject("alice")
                        .expirationTime(new Date(System.currentTimeMillis() + 3_600_000)).build());
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
    }

    /** The status and, when refused, the body: what a client sees. */
    private static String answer(String base, String token) throws Exception {
        Curl.Result r = token == null ? Curl.run(base + "/headers")
                : Curl.run("-H", "authorization: Bearer " + token, base + "/headers");
        return r.status == 200 ? "200" : r.status + " " + r.body;
    }

    @Test
    void keysFoundByOpenIdDiscoveryVerifyTokensAndAFailingProviderIsRetried() throws Exception {
        RSAKey key = new RSAKeyGenerator(2048).keyID("k1").generate();
        RSAKey laterKey = new RSAKeyGenerator(2048).keyID("k9").generate();
        AtomicBoolean idpDown = new AtomicBoolean(false);
        AtomicBoolean laterDown = new AtomicBoolean(true);
        HttpServer idp = provider(key, idpDown);
        HttpServer later = provider(laterKey, laterDown);
        String issuer = "http://127.0.0.1:" + idp.getAddress().getPort();
        String laterIssuer = "http://127.0.0.1:" + later.getAddress().getPort();
        try (TestBackend http = TestBackend.start("httpbin")) {
            Files.writeString(dir.resolve("mesh.yaml"), SidecarWithDiscovery.httpbinConfig(INBOUND, http.port(), 0) + """
                    apiVersion: security.istio.io/v1
                    kind: RequestAuthentication
                    metadata: {name: jwt, namespace: foo}
                    spec:
                      selector: {matchLabels: {app: httpbin}}
                      jwtRules:
                      - issuer: %s
                      - issuer: %s
                    """.formatted(issuer, laterIssuer));
            try (SidecarWithDiscovery sidecar = SidecarWithDiscovery.httpbin(dir, null, INBOUND)) {
                String base = sidecar.inboundBase(INBOUND, http.port());

                // (Issuer 2's refusal names the first provider's failure, as requires_any reports it.)
                assertEquals(List.of("200", "401 Jwt verification fails", "200", "401"),
                        List.of(answer(base, token(key, issuer)),
                                answer(base, token(new RSAKeyGenerator(2048).keyID("k1").generate(), issuer)),
                                answer(base, null),
                                answer(base, token(laterKey, laterIssuer)).substring(0, 3)),
                        "issuer 1 verified with its discovered keys; issuer 2's provider fails: its tokens refused");

                laterDown.set(false);
                Poll.until(() -> {
                    try {
                        return answer(base, token(laterKey, laterIssuer)).equals("200");
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }, "issuer 2's keys, once its provider answers a retry");
                assertEquals("200", answer(base, token(key, issuer)));
            }
        } finally {
            idp.stop(0);
            later.stop(0);
        }
    }
}
