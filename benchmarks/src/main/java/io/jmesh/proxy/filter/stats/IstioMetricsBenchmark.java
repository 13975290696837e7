package io.jmesh.proxy.filter.stats;

import java.util.EnumSet;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.jmesh.proxy.stream.ResponseFlag;
import io.jmesh.proxy.telemetry.Stats;

/**
 * Recording Istio's standard metrics for one finished request, as {@code istio.stats} does at the end of a stream
 * (labels filled from the peer, the cluster and the response; four series looked up and updated), without sockets.
 *
 * <ul>
 *   <li>{@link #repeatingLabels}: the label set was seen before (the steady state): expected to allocate
 *       nothing.</li>
 * </ul>
 *
 * <p>{@link #main}: the heap one request's four series (a counter and three histograms) take, measured over
 * 1,000 distinct label sets after a full GC (run it alone: {@code java -cp benchmarks.jar
 * io.jmesh.proxy.filter.stats.IstioMetricsBenchmark}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class IstioMetricsBenchmark {

    private IstioMetrics metrics;
    private WorkloadMetadata peer;
    private String peerHeader;
    private final EnumSet<ResponseFlag> flags = EnumSet.noneOf(ResponseFlag.class);

    private static Struct node(String workload, String app) {
        Struct labels = Struct.newBuilder()
                .putFields("app", Value.newBuilder().setStringValue(app).build())
                .putFields("version", Value.newBuilder().setStringValue("v1").build()).build();
        return Struct.newBuilder()
                .putFields("WORKLOAD_NAME", Value.newBuilder().setStringValue(workload).build())
                .putFields("NAMESPACE", Value.newBuilder().setStringValue("default").build())
                .putFields("CLUSTER_ID", Value.newBuilder().setStringValue("Kubernetes").build())
                .putFields("LABELS", Value.newBuilder().setStructValue(labels).build()).build();
    }

    @Setup(Level.Trial)
    public void setUp() {
        Stats stats = new Stats();
        stats.tagged().maxSeriesPerMetric(Integer.MAX_VALUE);
        stats.localNode("sidecar~10.0.0.1~productpage-v1-1.default~default.svc.cluster.local",
                node("productpage-v1", "productpage"));
        metrics = new IstioMetrics(stats, TrafficDirection.OUTBOUND, StatsPluginConfig.DEFAULT);
        peerHeader = WorkloadMetadata.encode(node("reviews-v1", "reviews"));
        peer = metrics.peer(peerHeader);
    }

    private void record(int responseCode) {
        WorkloadMetadata p = metrics.peer(peerHeader);
        String[] v = metrics.labels();
        metrics.fill(v, p, null, null,
                metrics.destinationService("outbound|9080||reviews.default.svc.cluster.local", "reviews:9080"),
                "http", flags, responseCode, "", null);
        metrics.recordRequest(v, 3, 420, 1337, false, 0, 0);
    }

    @Benchmark
    public void repeatingLabels() {
        record(200);
    }

    /** Prints the retained heap of 1,000 requests with distinct label sets (4,000 series). */
    public static void main(String[] args) {
        int n = 1000;
        long[] samples = new long[3];
        for (int round = 0; round < samples.length; round++) {
            IstioMetricsBenchmark b = new IstioMetricsBenchmark();
            b.setUp();
            b.record(200); // families and caches made before measuring
            long before = usedAfterGc();
            for (int i = 0; i < n; i++) {
                b.record(1000 + i);
            }
            long after = usedAfterGc();
            samples[round] = after - before;
            if (b.metrics.reporter == null) {
                throw new AssertionError(); // keeps b reachable until here
            }
        }
        java.util.Arrays.sort(samples);
        System.out.printf("retained heap per 1,000 requests with new labels (4,000 series): %,d bytes (median of 3);"
                + " %,d bytes per series%n", samples[1], samples[1] / (4L * n));
    }

    private static long usedAfterGc() {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 4; i++) {
            System.gc();
        }
        return rt.totalMemory() - rt.freeMemory();
    }
}
