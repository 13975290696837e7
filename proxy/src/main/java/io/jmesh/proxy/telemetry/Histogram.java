package io.jmesh.proxy.telemetry;

import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

/**
 * A distribution of values (request times in milliseconds, sizes) with an Envoy stat name, counted in
 * Envoy's default histogram buckets ({@link #BUCKETS}). Thread-safe and lock-free; recording costs one
 * bucket search and three adder increments.
 */
public final class Histogram {

    /** Envoy's default bucket upper bounds (inclusive), from {@code HistogramSettingsImpl::defaultBuckets}. */
    static final double[] BUCKETS = {
        0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
        1800000, 3600000
    };

    private final String name;
    private final double[] bounds;
    private final LongAdder[] buckets;
    private final LongAdder count = new LongAdder();
    private final DoubleAdder sum = new DoubleAdder();

    Histogram(String name) {
        this(name, null);
    }

    /** A histogram with the bucket upper bounds {@code bounds} (ascending; null: {@link #BUCKETS}). */
    Histogram(String name, double[] bounds) {
        this.name = name;
        this.bounds = bounds == null ? BUCKETS : bounds;
        this.buckets = new LongAdder[this.bounds.length];
        for (int i = 0; i < buckets.length; i++) {
            buckets[i] = new LongAdder();
        }
    }

    public String name() {
        return name;
    }

    /** Records one value; negative values count as 0. */
    public void record(double value) {
        double v = Math.max(0, value);
        double[] b = bounds;
        for (int i = 0; i < b.length; i++) {
            if (v <= b[i]) {
                buckets[i].increment();
                break;
            }
        }
        count.increment();
        sum.add(v);
    }

    /** Number of recorded values. */
    public long count() {
        return count.sum();
    }

    /** Sum of recorded values. */
    public double sum() {
        return sum.sum();
    }

    /** The bucket upper bounds (shared: do not modify). */
    double[] bounds() {
        return bounds;
    }

    /** Envoy's default bucket upper bounds (inclusive), in which {@link #cumulativeCounts()} counts by default; a copy. */
    public static double[] bucketBounds() {
        return BUCKETS.clone();
    }

    /** Cumulative counts per bucket of {@link #bounds()} (values &lt;= the bound); a snapshot. */
    public long[] cumulativeCounts() {
        long[] out = new long[bounds.length];
        long running = 0;
        for (int i = 0; i < bounds.length; i++) {
            running += buckets[i].sum();
            out[i] = running;
        }
        return out;
    }
}
