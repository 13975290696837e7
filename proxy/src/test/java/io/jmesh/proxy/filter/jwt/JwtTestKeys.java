package io.jmesh.proxy.filter.jwt;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.OctetSequenceKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;

/** Keys generated for a test, tokens signed with them, and a real HTTP server of JWKS documents. */
final class JwtTestKeys {

    static final String ISSUER = "https://issuer.test";

    private JwtTestKeys() {}

    static RSAKey rsa(String kid) throws JOSEException {
        return new RSAKeyGenerator(2048).keyID(kid).generate();
    }

    static ECKey ec(String kid) throws JOSEException {
        return new ECKeyGenerator(Curve.P_256).keyID(kid).generate();
    }

    static OctetSequenceKey hmac(String kid) throws JOSEException {
        return new OctetSequenceKeyGenerator(256).keyID(kid).algorithm(JWSAlgorithm.HS256).generate();
    }

    /** The public JWKS of {@code keys} (an HMAC key is its own public part). */
    static String jwks(JWK... keys) {
        List<JWK> published = new java.util.ArrayList<>();
        for (JWK k : keys) {
            published.add(k instanceof OctetSequenceKey ? k : k.toPublicJWK());
        }
        return new JWKSet(published).toString(false);
    }

    /** A token with iss, aud {@code svc}, sub {@code alice}, one hour to live, plus {@code extra} claims. */
    static String token(JWK key, Map<String, Object> extra) throws JOSEException {
        JWTClaimsSet.Builder c = new JWTClaimsSet.Builder().issuer(ISSUER).audience("svc").subject("alice")
                .expirationTime(new Date(System.currentTimeMillis() + 3_600_000));
        extra.forEach(c::claim);
        return sign(key, c.build());
    }

    static String sign(JWK key, JWTClaimsSet claims) throws JOSEException {
        JWSAlgorithm alg;
        JWSSigner signer;
        if (key instanceof RSAKey r) {
            alg = JWSAlgorithm.RS256;
            signer = new RSASSASigner(r);
        } else if (key instanceof ECKey e) {
            alg = JWSAlgorithm.ES256;
            signer = new ECDSASigner(e);
        } else {
            alg = JWSAlgorithm.HS256;
            signer = new MACSigner((OctetSequenceKey) key);
        }
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).keyID(key.getKeyID()).build(), claims);
        jwt.sign(signer);
        return jwt.serialize();
    }

    /** A real HTTP server on port 0 of 127.0.0.1 serving {@link #body} at {@code /jwks} (status {@link #status}). */
    static final class JwksServer implements AutoCloseable {
        final AtomicReference<String> body = new AtomicReference<>("{\"keys\":[]}");
        final AtomicInteger status = new AtomicInteger(200);
        final AtomicInteger hits = new AtomicInteger();
        private final HttpServer server;

        JwksServer() throws java.io.IOException {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.createContext("/jwks", ex -> {
                hits.incrementAndGet();
                byte[] b = body.get().getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("content-type", "application/json");
                ex.sendResponseHeaders(status.get(), b.length);
                ex.getResponseBody().write(b);
                ex.close();
            });
            server.start();
        }

        int port() {
            return server.getAddress().getPort();
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }
}
