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
    private final TaggedMetrics tagged = new TaggedMetrics();
    private volatile com.google.protobuf.Struct nodeMetadata = com.google.protobuf.Struct.getDefaultInstance();
    private volatile String nodeId = "";
    private volatile java.util.List<TagExtractor> tagExtractors = TagExtractor.ENVOY_DEFAULTS;

    public Counter counter(String name) {
        return counters.computeIfAbsent(name, Counter::new);
    }

    public Gauge gauge(String name) {
        return gauges.computeIfAbsent(name, Gauge::new);
    }

    public Histogram histogram(String name) {
        return histograms.computeIfAbsent(name, Histogram::new);
    }

    /**
     * The metrics with labels (Istio's standard metrics): rendered by {@code /stats/prometheus} with their labels,
     * not by the flat {@code /stats} text.
     */
    public TaggedMetrics tagged() {
        return tagged;
    }

    /**
     * The local node's {@code id} and {@code metadata} (Istio's NAME, NAMESPACE, LABELS, WORKLOAD_NAME, CLUSTER_ID,
     * ...), from the bootstrap's {@code node}: the workload labels of the Istio metrics and the metadata sent to
     * peers. Set by the server before any listener is built.
     */
    public void localNode(String id, com.google.protobuf.Struct metadata) {
        this.nodeId = id == null ? "" : id;
        this.nodeMetadata = metadata == null ? com.google.protobuf.Struct.getDefaultInstance() : metadata;
    }

    /** The local node's metadata (empty until {@link #localNode} is called). */
    public com.google.protobuf.Struct nodeMetadata() {
        return nodeMetadata;
    }

    /** The local node's id (empty until {@link #localNode} is called). */
    public String nodeId() {
        return nodeId;
    }

    /** The tag extractors {@code /stats/prometheus} applies (the bootstrap's {@code stats_config}; Envoy's by default). */
    public java.util.List<TagExtractor> tagExtractors() {
        return tagExtractors;
    }

    /** Sets {@link #tagExtractors()}. */
    public void tagExtractors(java.util.List<TagExtractor> extractors) {
        this.tagExtractors = java.util.List.copyOf(extractors);
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
