package io.jmesh.proxy.network.http;

import java.util.Date;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.Blackhole;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;

import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;

/**
 * What {@code envoy.filters.http.jwt_authn} adds to one request through the connection manager's stream, without
 * sockets, with the provider of {@code benchmarks/scripts/mtls-pair-cmd.sh} (RS256, local JWKS, {@code forward},
 * {@code payload_in_metadata}, {@code jwt_cache_config}): every request carries the same valid token, so after the
 * first one each is a cache hit (the steady state of a sidecar whose callers reuse their tokens). The stream is the
 * {@code direct_response} one of {@link HttpConnectionManagerBenchmark}; {@code filters=router} is the baseline.
 *
 * <p>{@link #main} measures thread CPU time per request (robust on a shared machine):
 * {@code java -cp benchmarks/target/benchmarks.jar io.jmesh.proxy.network.http.JwtAuthnBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class JwtAuthnBenchmark {

    @Param({"router", "jwt"})
    public String filters;

    private HttpConnectionManagerConfig config;
    private EventLoop loop;
    private HttpConnectionManagerBenchmark.Sink sink;
    private String authorization;

    @Setup
    public void setUp() throws Exception {
        RSAKey key = new RSAKeyGenerator(2048).keyID("bench").algorithm(JWSAlgorithm.RS256).generate();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("bench").build(),
                new JWTClaimsSet.Builder().issuer("bench@jmesh.io").subject("user-1").audience(List.of("bench"))
                        .expirationTime(new Date(4102444800_000L)).build());
        jwt.sign(new RSASSASigner(key));
        authorization = "Bearer " + jwt.serialize();
        String jwks = new JWKSet(key.toPublicJWK()).toString().replace("\"", "\\\"");
        String jwtFilter = """
                {"name": "envoy.filters.http.jwt_authn", "typed_config": {
                  "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
                  "providers": {"bench": {"issuer": "bench@jmesh.io", "audiences": ["bench"],
                    "local_jwks": {"inline_string": "%s"}, "forward": true, "payload_in_metadata": "bench@jmesh.io",
                    "jwt_cache_config": {"jwt_cache_size": 100}}},
                  "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "bench"}}]}}
                """.formatted(jwks);
        String router = HttpConnectionManagerBenchmark.ROUTER;
        config = HttpConnectionManagerBenchmark.config(filters.equals("jwt") ? jwtFilter + ", " + router : router);
        loop = new DefaultEventLoop();
        sink = new HttpConnectionManagerBenchmark.Sink(loop);
    }

    @TearDown
    public void tearDown() {
        loop.shutdownGracefully();
    }

    @Benchmark
    public void request(Blackhole bh) {
        HttpConnectionManagerBenchmark.request(config, sink, bh, authorization);
    }

    /** Thread CPU ns per request, router only and with jwt_authn, alternating, best of {@code rounds} each. */
    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        Blackhole bh = HttpConnectionManagerBenchmark.blackhole();
        JwtAuthnBenchmark router = create("router");
        JwtAuthnBenchmark jwt = create("jwt");
        long[] best = HttpConnectionManagerBenchmark.threadCpuNanosPerRequest(rounds, 500_000,
                () -> router.request(bh), () -> jwt.request(bh));
        System.out.printf("router only: %d ns/request of thread CPU%njwt_authn (cache hit) + router: %d ns/request"
                + " of thread CPU%n", best[0], best[1]);
        router.tearDown();
        jwt.tearDown();
    }

    private static JwtAuthnBenchmark create(String filters) throws Exception {
        JwtAuthnBenchmark b = new JwtAuthnBenchmark();
        b.filters = filters;
        b.setUp();
        return b;
    }
}
