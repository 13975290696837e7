package io.jmesh.proxy.network.http;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
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
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;

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
        sink.bh = bh;
        ActiveStream s = new ActiveStream(config, sink);
        DefaultHttpRequest req = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/hello");
        req.headers().set("host", "example.com").set("user-agent", "bench").set("accept", "*/*")
                .set("authorization", authorization);
        s.onRequestHeaders(req, true);
    }

    /** Thread CPU ns per request, router only and with jwt_authn, alternating, best of {@code rounds} each. */
    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int n = 500_000;
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        Blackhole bh = new Blackhole(
                "Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");
        JwtAuthnBenchmark[] bs = new JwtAuthnBenchmark[2];
        for (int i = 0; i < 2; i++) {
            bs[i] = new JwtAuthnBenchmark();
            bs[i].filters = i == 0 ? "router" : "jwt";
            bs[i].setUp();
            for (int w = 0; w < 2 * n; w++) {
                bs[i].request(bh);
            }
        }
        long[] best = {Long.MAX_VALUE, Long.MAX_VALUE};
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < 2; i++) {
                long t0 = mx.getCurrentThreadCpuTime();
                for (int k = 0; k < n; k++) {
                    bs[i].request(bh);
                }
                best[i] = Math.min(best[i], (mx.getCurrentThreadCpuTime() - t0) / n);
            }
        }
        System.out.printf("router only: %d ns/request of thread CPU%njwt_authn (cache hit) + router: %d ns/request"
                + " of thread CPU%n", best[0], best[1]);
        for (JwtAuthnBenchmark b : bs) {
            b.tearDown();
        }
    }
}
