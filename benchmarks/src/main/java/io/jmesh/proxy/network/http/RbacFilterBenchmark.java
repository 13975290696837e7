package io.jmesh.proxy.network.http;

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

import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;

/**
 * What the HTTP RBAC filter adds to one request through the connection manager's stream, without sockets: the
 * stream of {@link HttpConnectionManagerBenchmark} ({@code direct_response} route) with the router only, or with
 * {@code envoy.filters.http.rbac} before it holding the policy of {@code benchmarks/scripts/mtls-pair-cmd.sh}
 * (an ALLOW policy: {@code :method} GET and a path prefix; the principal an {@code authenticated} SPIFFE name or,
 * on this plaintext stream, the remote IP), which allows the request.
 *
 * <p>{@link #main} measures thread CPU time per request (robust on a shared machine):
 * {@code java -cp benchmarks/target/benchmarks.jar io.jmesh.proxy.network.http.RbacFilterBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RbacFilterBenchmark {

    private static final String RBAC = """
            {"name": "envoy.filters.http.rbac", "typed_config": {
              "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
              "rules": {"action": "ALLOW", "policies": {"ns[default]-policy[bench]-rule[0]": {
                "permissions": [{"and_rules": {"rules": [
                   {"header": {"name": ":method", "string_match": {"exact": "GET"}}},
                   {"url_path": {"path": {"prefix": "/"}}}]}}],
                "principals": [{"or_ids": {"ids": [
                   {"authenticated": {"principal_name": {"exact": "spiffe://cluster.local/ns/default/sa/client"}}},
                   {"remote_ip": {"address_prefix": "127.0.0.1", "prefix_len": 32}}]}}]}}}}}
            """;

    @Param({"router", "rbac"})
    public String filters;

    private HttpConnectionManagerConfig config;
    private EventLoop loop;
    private HttpConnectionManagerBenchmark.Sink sink;

    @Setup
    public void setUp() throws Exception {
        String router = HttpConnectionManagerBenchmark.ROUTER;
        config = HttpConnectionManagerBenchmark.config(filters.equals("rbac") ? RBAC + ", " + router : router);
        loop = new DefaultEventLoop();
        sink = new HttpConnectionManagerBenchmark.Sink(loop);
    }

    @TearDown
    public void tearDown() {
        loop.shutdownGracefully();
    }

    @Benchmark
    public void request(Blackhole bh) {
        HttpConnectionManagerBenchmark.request(config, sink, bh);
    }

    /** Thread CPU ns per request, router only and with RBAC, alternating, best of {@code rounds} each. */
    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        Blackhole bh = HttpConnectionManagerBenchmark.blackhole();
        RbacFilterBenchmark router = create("router");
        RbacFilterBenchmark rbac = create("rbac");
        long[] best = HttpConnectionManagerBenchmark.threadCpuNanosPerRequest(rounds, 1_000_000,
                () -> router.request(bh), () -> rbac.request(bh));
        System.out.printf("router only: %d ns/request of thread CPU%nrbac + router: %d ns/request of thread CPU%n",
                best[0], best[1]);
        router.tearDown();
        rbac.tearDown();
    }

    private static RbacFilterBenchmark create(String filters) throws Exception {
        RbacFilterBenchmark b = new RbacFilterBenchmark();
        b.filters = filters;
        b.setUp();
        return b;
    }
}
