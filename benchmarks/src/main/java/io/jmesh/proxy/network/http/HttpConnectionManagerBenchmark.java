package io.jmesh.proxy.network.http;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.Blackhole;

import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.telemetry.Stats;
import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;

/**
 * One request through the HTTP connection manager's stream ({@link ActiveStream}) with the router as the only
 * filter, answered by a {@code direct_response} route: header sanitation, request id, route match, filter
 * chain, router, local reply, response headers, stats and the end of the stream, without sockets. It lives in
 * the proxy's package to reach the package-private stream, and compiles against the code before and after the
 * filter-manager split (issue 9), so that the two can be compared.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class HttpConnectionManagerBenchmark {

    /** The router, the last of {@link #config}'s HTTP filters. */
    static final String ROUTER = "{\"name\": \"envoy.filters.http.router\"}";

    private static final String HCM = """
            {"stat_prefix": "bench", "stream_idle_timeout": "0s", "generate_request_id": false,
             "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"],
               "routes": [{"match": {"prefix": "/"}, "direct_response": {"status": 200, "body": {"inline_string": "ok"}}}]}]},
             "http_filters": [%s]}
            """;

    private HttpConnectionManagerConfig config;
    private EventLoop loop;
    private Sink sink;

    @Setup
    public void setUp() throws Exception {
        config = config(ROUTER);
        loop = new DefaultEventLoop();
        sink = new Sink(loop);
    }

    /**
     * The benchmark's connection manager, one {@code direct_response} route for every request, with
     * {@code httpFilters} (JSON list items, ending with {@link #ROUTER}).
     */
    static HttpConnectionManagerConfig config(String httpFilters) throws Exception {
        HttpConnectionManager proto = EnvoyTypes.PARSER.parse(HCM.formatted(httpFilters),
                HttpConnectionManager.newBuilder()).build();
        return HttpConnectionManagerConfig.create(proto, () -> null, new Stats(), "hcm");
    }

    /** One {@code GET /hello} on a new stream of {@code config}, its response written to {@code sink}. */
    static void request(HttpConnectionManagerConfig config, Sink sink, Blackhole bh) {
        request(config, sink, bh, null);
    }

    /** As {@link #request(HttpConnectionManagerConfig, Sink, Blackhole)}, with an {@code authorization} header. */
    static void request(HttpConnectionManagerConfig config, Sink sink, Blackhole bh, String authorization) {
        sink.bh = bh;
        ActiveStream s = new ActiveStream(config, sink);
        DefaultHttpRequest req = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/hello");
        req.headers().set("host", "example.com").set("user-agent", "bench").set("accept", "*/*");
        if (authorization != null) {
            req.headers().set("authorization", authorization);
        }
        s.onRequestHeaders(req, true);
    }

    /**
     * Thread CPU nanoseconds per call of each of {@code requests}, for the {@code main}s of benchmarks that compare
     * filter chains on a shared machine: each runs {@code 2 * n} times to warm up, then {@code n} times per round,
     * alternating, for {@code rounds} rounds; the best round of each counts.
     */
    static long[] threadCpuNanosPerRequest(int rounds, int n, Runnable... requests) {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        for (Runnable r : requests) {
            for (int w = 0; w < 2 * n; w++) {
                r.run();
            }
        }
        long[] best = new long[requests.length];
        Arrays.fill(best, Long.MAX_VALUE);
        for (int round = 0; round < rounds; round++) {
            for (int i = 0; i < requests.length; i++) {
                long t0 = mx.getCurrentThreadCpuTime();
                for (int k = 0; k < n; k++) {
                    requests[i].run();
                }
                best[i] = Math.min(best[i], (mx.getCurrentThreadCpuTime() - t0) / n);
            }
        }
        return best;
    }

    /** A {@link Blackhole} for a {@code main} outside JMH. */
    static Blackhole blackhole() {
        return new Blackhole(
                "Today's password is swordfish. I understand instantiating Blackholes directly is dangerous.");
    }

    @TearDown
    public void tearDown() {
        loop.shutdownGracefully();
    }

    @Benchmark
    public void directResponse(Blackhole bh) {
        request(config, sink, bh);
    }

    static final class Sink implements DownstreamSink {
        private static final InetSocketAddress LOCAL = new InetSocketAddress("127.0.0.1", 15001);
        private static final InetSocketAddress REMOTE = new InetSocketAddress("127.0.0.1", 40000);
        private final EventLoop loop;
        private final io.jmesh.proxy.stream.ConnectionInfo connection =
                io.jmesh.proxy.stream.ConnectionInfo.create(LOCAL, REMOTE);
        Blackhole bh;

        Sink(EventLoop loop) {
            this.loop = loop;
        }

        @Override
        public void write(HttpObject msg) {
            bh.consume(msg);
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void flush() {
        }

        @Override
        public boolean isWritable() {
            return true;
        }

        @Override
        public void setReadable(boolean readable) {
        }

        @Override
        public void responseComplete(boolean closeConnection) {
        }

        @Override
        public void reset() {
        }

        @Override
        public EventLoop eventLoop() {
            return loop;
        }

        @Override
        public InetSocketAddress remoteAddress() {
            return REMOTE;
        }

        @Override
        public InetSocketAddress localAddress() {
            return LOCAL;
        }

        @Override
        public String protocol() {
            return "HTTP/1.1";
        }

        @Override
        public boolean secure() {
            return false;
        }

        // No @Override: the interface gained this method with the filter manager; the benchmark builds on both.
        public io.jmesh.proxy.stream.ConnectionInfo connectionInfo() {
            return connection;
        }
    }
}
