package io.jmesh.proxy.telemetry;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Metrics with labels (Envoy's tagged stats, as Istio's stats filter makes them): families of counters or histograms,
 * each with a fixed list of label names, holding one series per distinct list of label values.
 *
 * <p>Looking up a series whose label values were seen before allocates nothing: the caller passes a
 * {@code String[]} it reuses, and the look-up probes the family with a per-thread key. A family holds at most
 * {@link #maxSeriesPerMetric()} series; a new label set beyond that is not recorded and counts in
 * {@value #DROPPED_SERIES}{@code {metric="<family>"}} instead (the cardinality cap). Thread-safe.
 */
public final class TaggedMetrics {

    /** The default cap on the series of one metric family. */
    public static final int DEFAULT_MAX_SERIES_PER_METRIC = 10_000;

    /** The counter family of label sets refused by the cap, labelled by {@code metric}. */
    public static final String DROPPED_SERIES = "istio_stats_dropped_series_total";

    /** The kind of a family. */
    public enum Type { COUNTER, HISTOGRAM }

    private final Map<String, Family> families = new ConcurrentHashMap<>();
    private volatile int maxSeriesPerMetric = DEFAULT_MAX_SERIES_PER_METRIC;
    private final Family dropped;

    TaggedMetrics() {
        dropped = new Family(DROPPED_SERIES, Type.COUNTER, new String[] {"metric"}, null, Integer.MAX_VALUE);
        families.put(DROPPED_SERIES, dropped);
    }

    /** The cap on the series of one family. */
    public int maxSeriesPerMetric() {
        return maxSeriesPerMetric;
    }

    /** Sets the cap on the series of one family (at least 1); series already made stay. */
    public void maxSeriesPerMetric(int max) {
        if (max < 1) {
            throw new IllegalArgumentException("maxSeriesPerMetric: " + max + " (expected: >= 1)");
        }
        this.maxSeriesPerMetric = max;
    }

    /**
     * The counter family {@code name} with {@code labelNames}, made on first use. A second call with other label
     * names fails: one name is one family.
     */
    public Family counterFamily(String name, List<String> labelNames) {
        return family(name, Type.COUNTER, labelNames, null);
    }

    /** The histogram family {@code name} with {@code labelNames} and bucket upper bounds {@code buckets}. */
    public Family histogramFamily(String name, List<String> labelNames, double[] buckets) {
        return family(name, Type.HISTOGRAM, labelNames, buckets);
    }

    private Family family(String name, Type type, List<String> labelNames, double[] buckets) {
        Family f = families.computeIfAbsent(name,
                n -> new Family(n, type, labelNames.toArray(new String[0]), buckets, -1));
        if (f.type != type || !Arrays.equals(f.labelNames, labelNames.toArray())) {
            throw new IllegalArgumentException(name + ": already a " + f.type + " with labels "
                    + Arrays.toString(f.labelNames));
        }
        return f;
    }

    /** Every family, sorted by name. */
    public SortedMap<String, Family> families() {
        return new TreeMap<>(families);
    }

    /** The number of series refused by the cap in family {@code metric}. */
    public long droppedSeries(String metric) {
        Object s = dropped.existing(new String[] {metric});
        return s == null ? 0 : ((Counter) s).get();
    }

    /** A label set, compared by its values. The stored keys are immutable; the per-thread probe is reused. */
    private static final class Key {
        String[] values;
        int hash;

        Key(String[] values) {
            set(values);
        }

        void set(String[] v) {
            this.values = v;
            this.hash = Arrays.hashCode(v);
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.hash == hash && Arrays.equals(k.values, values);
        }
    }

    private static final ThreadLocal<Key> PROBE = ThreadLocal.withInitial(() -> new Key(new String[0]));

    /**
     * One metric family: its series keyed by label values. {@link #counter(String[])} and
     * {@link #histogram(String[])} return the series of a label set (null when the cap refused it).
     */
    public final class Family {
        private final String name;
        private final Type type;
        private final String[] labelNames;
        private final double[] buckets;
        private final int fixedCap;
        private final Map<Key, Object> series = new ConcurrentHashMap<>();
        private final AtomicInteger size = new AtomicInteger();

        Family(String name, Type type, String[] labelNames, double[] buckets, int fixedCap) {
            this.name = name;
            this.type = type;
            this.labelNames = labelNames;
            this.buckets = buckets;
            this.fixedCap = fixedCap;
        }

        public String name() {
            return name;
        }

        public Type type() {
            return type;
        }

        public List<String> labelNames() {
            return List.of(labelNames);
        }

        /** The bucket bounds of a histogram family; null for counters. */
        public double[] buckets() {
            return buckets == null ? null : buckets.clone();
        }

        /**
         * The counter of the label set {@code values} (one per label name, none null; the array may be reused by
         * the caller after the call), or null when the family is full and the set is new.
         */
        public Counter counter(String[] values) {
            return (Counter) series(values);
        }

        /** As {@link #counter(String[])} for a histogram family. */
        public Histogram histogram(String[] values) {
            return (Histogram) series(values);
        }

        Object existing(String[] values) {
            Key probe = PROBE.get();
            probe.set(values);
            try {
                return series.get(probe);
            } finally {
                probe.values = null;
            }
        }

        private Object series(String[] values) {
            if (values.length != labelNames.length) {
                throw new IllegalArgumentException(name + ": " + values.length + " label values (expected: "
                        + labelNames.length + ")");
            }
            Object s = existing(values);
            if (s != null) {
                return s;
            }
            int cap = fixedCap > 0 ? fixedCap : maxSeriesPerMetric;
            for (int i = 0; i < values.length; i++) {
                if (values[i] == null) {
                    throw new IllegalArgumentException(name + ": label " + labelNames[i] + " is null");
                }
            }
            synchronized (this) {
                Key key = new Key(values.clone());
                s = series.get(key);
                if (s != null) {
                    return s;
                }
                if (size.get() >= cap) {
                    Counter c = dropped.counter(new String[] {name});
                    if (c != null) {
                        c.inc();
                    }
                    return null;
                }
                s = type == Type.COUNTER ? new Counter(name) : new Histogram(name, buckets);
                series.put(key, s);
                size.incrementAndGet();
                return s;
            }
        }

        /** The number of series. */
        public int size() {
            return size.get();
        }

        /** A snapshot of the series: label values to a {@link Counter} or {@link Histogram}. */
        public Map<List<String>, Object> series() {
            Map<List<String>, Object> out = new java.util.LinkedHashMap<>();
            series.forEach((k, v) -> out.put(List.of(k.values), v));
            return out;
        }
    }
}
