package io.jmesh.benchmarks.ratelimit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.HdrHistogram.Recorder;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.jmesh.ratelimit.RateLimitServer;

/**
 * The round trip of one {@code ShouldRateLimit} call to {@code jmesh ratelimit} (gRPC over loopback, one descriptor,
 * a limit that is never reached), as a proxy's global rate limit filter makes it: {@code C} callers, each waiting
 * for its answer before the next call, for {@code W} seconds of warm-up and {@code D} measured; prints calls/s and
 * p50/p99/p999 in microseconds. With {@code --redis HOST:PORT} the counters are in that Redis.
 *
 * <pre>java -cp ... io.jmesh.benchmarks.ratelimit.RlsRoundTrip [--redis HOST:PORT] [--callers C] [--warmup W] [--duration D]</pre>
 */
public final class RlsRoundTrip {

    private RlsRoundTrip() {}

    public static void main(String[] args) throws Exception {
        String redis = null;
        int callers = 1;
        int warmup = 10;
        int duration = 20;
        for (int i = 0; i < args.length; i += 2) {
            switch (args[i]) {
                case "--redis" -> redis = args[i + 1];
                case "--callers" -> callers = Integer.parseInt(args[i + 1]);
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
                case "--duration" -> duration = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Path cfg = Files.createTempFile("rls", ".yaml");
        Files.writeString(cfg, """
                domain: bench
                descriptors:
                  - key: user
                    rate_limit: { unit: second, requests_per_unit: 4000000000 }
                """);
        try (RateLimitServer server = RateLimitServer.start(RateLimitServer.Options.of(cfg).port(0).redis(redis))) {
            ManagedChannel ch = ManagedChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
            Recorder recorder = new Recorder(3);
            AtomicLong calls = new AtomicLong();
            long warmEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(warmup);
            long end = warmEnd + TimeUnit.SECONDS.toNanos(duration);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < callers; t++) {
                final int id = t;
                Thread th = new Thread(() -> {
                    var stub = RateLimitServiceGrpc.newBlockingStub(ch);
                    RateLimitRequest req = RateLimitRequest.newBuilder().setDomain("bench").addDescriptors(
                            RateLimitDescriptor.newBuilder().addEntries(RateLimitDescriptor.Entry.newBuilder()
                                    .setKey("user").setValue("u" + id))).build();
                    for (long now; (now = System.nanoTime()) < end; ) {
                        stub.shouldRateLimit(req);
                        long took = System.nanoTime() - now;
                        if (now >= warmEnd) {
                            recorder.recordValue(took / 1000);
                            calls.incrementAndGet();
                        }
                    }
                });
                th.start();
                threads.add(th);
            }
            for (Thread th : threads) {
                th.join();
            }
            var h = recorder.getIntervalHistogram();
            System.out.printf("rls-roundtrip counters=%s callers=%d calls/s=%d p50_us=%d p99_us=%d p999_us=%d%n",
                    redis == null ? "memory" : "redis", callers, calls.get() / duration,
                    h.getValueAtPercentile(50), h.getValueAtPercentile(99), h.getValueAtPercentile(99.9));
            ch.shutdownNow();
        }
    }
}
