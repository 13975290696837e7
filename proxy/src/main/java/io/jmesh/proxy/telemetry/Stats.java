package io.jmesh.proxy.telemetry;

import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The proxy's stat store, keyed by Envoy's stat names ({@code cluster.<name>.upstream_rq_total},
 * {@code http.<stat_prefix>.downstream_rq_total}, ...). Look-ups create on first use; callers on the hot
 * path keep the returned {@link Counter} or {@link Gauge} instead of looking it up per request.
 * Thread-safe.
 */
public final class Stats {

    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private final Map<String, Gauge> gauges = new ConcurrentHashMap<>();

    public Counter counter(String name) {
        return counters.computeIfAbsent(name, Counter::new);
    }

    public Gauge gauge(String name) {
        return gauges.computeIfAbsent(name, Gauge::new);
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
