package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

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
import com.sun.net.httpserver.HttpServer;

import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.xds.AdsBootstrap;
import io.jmesh.proxy.xds.ListenerBinding;

/**
 * End to end: discovery reads a Gateway, a VirtualService routing on {@code @request.auth.claims.group} and a
 * RequestAuthentication whose {@code jwksUri} is a mesh service; a gateway {@link ProxyServer} follows it over ADS,
 * fetches the JWKS from a real HTTP server through that service's cluster, and curl sees Istio's behaviour: a valid
 * token routed by its claim, no token allowed, a bad token refused with 401.
 */
class GatewayJwtFollowsDiscoveryTest {

    private static final String NODE = "router~127.0.0.1~ingress-1.istio-system~istio-system.svc.cluster.local";
    private static final String ISSUER = "https://issuer.test";

    @TempDir
    Path dir;

    @Test
    void gatewayVerifiesTokensAndRoutesOnAClaim() throws Exception {
        RSAKey key = new RSAKeyGenerator(2048).keyID("k1").generate();
        AtomicInteger jwksHits = new AtomicInteger();
        HttpServer jwks = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        jwks.createContext("/jwks", ex -> {
            jwksHits.incrementAndGet();
            byte[] b = new JWKSet(key.toPublicJWK()).toString().getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        jwks.start();
        try (TestBackend v1 = TestBackend.start("v1"); TestBackend v2 = TestBackend.start("v2")) {
            Files.writeString(dir.resolve("mesh.yaml"), mesh(v1.port(), v2.port(), jwks.getAddress().getPort()));
            try (DiscoveryServer discovery = DiscoveryServer.start(new DiscoveryOptions(dir,
                    new InetSocketAddress("127.0.0.1", 0), new InetSocketAddress("127.0.0.1", 0), null,
                    DiscoveryOptions.DEFAULT_DEBOUNCE))) {
                ProxyServer gateway = ProxyServer.start(AdsBootstrap.forDiscovery("127.0.0.1",
                        discovery.grpcAddress().getPort(), NODE, Map.of(), Map.of("istio", "ingressgateway"), 0), 1,
                        new ListenerBinding("127.0.0.1", Map.of(80, 0)));
                try {
                    String admins = token(key, "admins");
                    waitFor(() -> backend(gateway, "Bearer " + admins).equals("v2"), "the claim route");
                    int fetched = jwksHits.get();
                    assertEquals("v1", backend(gateway, "Bearer " + token(key, "users")));
                    assertEquals("v1", backend(gateway, null), "no token: allowed, default route");
                    RSAKey other = new RSAKeyGenerator(2048).keyID("k1").generate();
                    assertEquals("status 401", backend(gateway, "Bearer " + token(other, "admins")));
                    assertEquals(fetched, jwksHits.get(), "the JWKS is cached, not fetched per request");
                } finally {
                    gateway.close();
                }
            }
        } finally {
            jwks.stop(0);
        }
    }

    private static String mesh(int v1, int v2, int jwks) {
        return """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: web, namespace: default}
                spec:
                  hosts: [web.default.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 8000, name: http, protocol: HTTP}]
                  endpoints:
                  - {address: 127.0.0.1, ports: {http: %d}, labels: {version: v1}}
                  - {address: 127.0.0.1, ports: {http: %d}, labels: {version: v2}}
                ---
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: keys, namespace: default}
                spec:
                  hosts: [keys.default.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 8080, name: http, protocol: HTTP}]
                  endpoints: [{address: 127.0.0.1, ports: {http: %d}}]
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: web, namespace: default}
                spec:
                  host: web.default.svc.cluster.local
                  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
                ---
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: web-gateway, namespace: default}
                spec:
                  selector: {istio: ingressgateway}
                  servers:
                  - port: {number: 80, name: http, protocol: HTTP}
                    hosts: ["*"]
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: web, namespace: default}
                spec:
                  hosts: ["*"]
                  gateways: [web-gateway]
                  http:
                  - match:
                    - headers:
                        "@request.auth.claims.group": {exact: admins}
                    route:
                    - destination: {host: web.default.svc.cluster.local, subset: v2, port: {number: 8000}}
                  - route:
                    - destination: {host: web.default.svc.cluster.local, subset: v1, port: {number: 8000}}
                ---
                apiVersion: security.istio.io/v1
                kind: RequestAuthentication
                metadata: {name: ingress, namespace: istio-system}
                spec:
                  selector:
                    matchLabels: {istio: ingressgateway}
                  jwtRules:
                  - issuer: %s
                    jwksUri: http://keys.default.svc.cluster.local:8080/jwks
                """.formatted(v1, v2, jwks, ISSUER);
    }

    private static String token(RSAKey key, String group) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(),
                new JWTClaimsSet.Builder().issuer(ISSUER).subject("alice").claim("group", List.of(group))
                        .expirationTime(new Date(System.currentTimeMillis() + 3_600_000)).build());
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
    }

    /** The backend that answered through the gateway, or {@code status N}. */
    private static String backend(ProxyServer gateway, String authorization) {
        try {
            InetSocketAddress a = gateway.listenerAddresses().get("0.0.0.0_80");
            if (a == null) {
                return "no listener";
            }
            String url = "http://127.0.0.1:" + a.getPort() + "/page";
            Curl.Result r = authorization == null ? Curl.run(url) : Curl.run("-H", "Authorization: " + authorization, url);
            return r.status == 200 ? r.header("x-backend") : "status " + r.status;
        } catch (Exception e) {
            return e.toString();
        }
    }

    private static void waitFor(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(50);
        }
    }
}
