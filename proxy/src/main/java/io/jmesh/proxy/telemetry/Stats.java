package io.jmesh.proxy.telemetry;

import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The proxy's stat store, keyed by Envoy's stat names ({@code cluster.<name>.upstream_rq_total},
 * {@code http.<stat_prefix>.downstream_rq_total}, ...). Look-ups create on first use; callers on the hot
 * path keep the returned {@link Counter}, {@link Gauge} or {@link Histogram} instead of looking it up per request.
 * Thread-safe.
 */
public final class Stats {

    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private final Map<String, Gauge> gauges = new ConcurrentHashMap<>();
    private final Map<String, Histogram> histograms = new ConcurrentHashMap<>();

    public Counter counter(String name) {
        return counters.computeIfAbsent(name, Counter::new);
    }

    public Gauge gauge(String name) {
        return gauges.computeIfAbsent(name, Gauge::new);
    }

    public Histogram histogram(String name) {
        return histograms.computeIfAbsent(name, Histogram::new);
    }

    /** Every histogram, sorted by name; the histograms themselves are live. */
    public SortedMap<String, Histogram> histograms() {
        return new TreeMap<>(histograms);
    }

    /** A sorted snapshot of every counter's value. */
    public SortedMap<String, Long> counterValues() {
        SortedMap<String, Long> out = new TreeMap<>();
        counters.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    /** A sorted snapshot of every gauge's value. */
    public SortedMap<String, Long> gaugeValues() {
        SortedMap<String, Long> out = new TreeMap<>();
        gauges.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }
}
