package io.jmesh.cli.demo;

import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Map;

import io.jmesh.proxy.telemetry.Histogram;
import io.jmesh.proxy.telemetry.Stats;

/**
 * One line per second of the traffic through a proxy's HTTP connection managers, from its Envoy stats: requests
 * per second, success rate (responses that are not 5xx, as Istio's dashboards count it) and p99 of
 * {@code downstream_rq_time}, interpolated within its bucket as Prometheus' {@code histogram_quantile} does.
 * {@link #next()} returns null for a second without requests. Not thread-safe: one caller, once a second.
 */
public final class TrafficLine {

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss");

    private final String name;
    private final Stats stats;
    private long total;
    private long errors;
    private long[] buckets;

    /** Lines named {@code name} over {@code stats}; counting starts now. */
    public TrafficLine(String name, Stats stats) {
        this.name = name;
        this.stats = stats;
        Snapshot s = snapshot();
        total = s.total;
        errors = s.errors;
        buckets = s.buckets;
    }

    /** The line for the requests completed since the last call, or null when there were none. */
    public String next() {
        Snapshot s = snapshot();
        long requests = s.total - total;
        long failed = s.errors - errors;
        long[] delta = new long[s.buckets.length];
        for (int i = 0; i < delta.length; i++) {
            delta[i] = s.buckets[i] - buckets[i];
        }
        total = s.total;
        errors = s.errors;
        buckets = s.buckets;
        if (requests <= 0) {
            return null;
        }
        double success = 100.0 * (requests - failed) / requests;
        return String.format(Locale.ROOT, "%s  %s  %d req/s  success %.1f%%  p99 %s", LocalTime.now().format(TIME),
                name, requests, success, p99(delta));
    }

    private static String p99(long[] cumulative) {
        double[] bounds = Histogram.bucketBounds();
        long count = cumulative[cumulative.length - 1];
        if (count == 0) {
            return "-";
        }
        double rank = 0.99 * count;
        for (int i = 0; i < bounds.length; i++) {
            if (cumulative[i] >= rank) {
                double lower = i == 0 ? 0 : bounds[i - 1];
                long below = i == 0 ? 0 : cumulative[i - 1];
                long in = cumulative[i] - below;
                double v = in == 0 ? bounds[i] : lower + (bounds[i] - lower) * (rank - below) / in;
                return String.format(Locale.ROOT, "%.1f ms", v);
            }
        }
        return "> " + (long) bounds[bounds.length - 1] + " ms";
    }

    private record Snapshot(long total, long errors, long[] buckets) {}

    private Snapshot snapshot() {
        long t = 0;
        long e = 0;
        for (Map.Entry<String, Long> c : stats.counterValues().entrySet()) {
            String k = c.getKey();
            if (k.startsWith("http.") && k.endsWith(".downstream_rq_completed")) {
                t += c.getValue();
            } else if (k.startsWith("http.") && k.endsWith(".downstream_rq_5xx")) {
                e += c.getValue();
            }
        }
        long[] b = new long[Histogram.bucketBounds().length];
        for (Map.Entry<String, Histogram> h : stats.histograms().entrySet()) {
            if (h.getKey().startsWith("http.") && h.getKey().endsWith(".downstream_rq_time")) {
                long[] c = h.getValue().cumulativeCounts();
                for (int i = 0; i < b.length; i++) {
                    b[i] += c[i];
                }
            }
        }
        return new Snapshot(t, e, b);
    }
}
