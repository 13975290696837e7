package io.jmesh.discovery.server;

import io.jmesh.discovery.xds.TypeUrls;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.LongSupplier;

/**
 * The control plane's metrics, with istiod's names, rendered in Prometheus text format:
 * {@code pilot_xds_pushes{type}}, {@code pilot_xds_push_time} and
 * {@code pilot_proxy_convergence_time} (histograms, seconds), {@code pilot_xds_cds_reject} /
 * {@code eds} / {@code lds} / {@code rds} (proxies whose last response of that type was NACKed),
 * {@code pilot_total_xds_rejects{type}}, {@code pilot_xds} (connected clients),
 * {@code pilot_push_triggers{type}}, {@code pilot_services}, {@code pilot_virt_services},
 * {@code pilot_total_rejected_configs}. Thread-safe, lock-free on update.
 */
public final class XdsMetrics {

    /** Istio's buckets for push and convergence times, in seconds. */
    static final double[] BUCKETS = {0.01, 0.1, 0.5, 1, 3, 5, 10, 20, 30};

    private final Map<String, AtomicLong> pushes = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> rejects = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> triggers = new ConcurrentHashMap<>();
    private final Map<String, Histogram> pushTime = new ConcurrentHashMap<>();
    private final Histogram convergence = new Histogram();
    private volatile LongSupplier connected = () -> 0;
    private volatile Map<String, LongSupplier> currentRejects = Map.of();
    private volatile long services;
    private volatile long virtualServices;
    private volatile long rejectedConfigs;

    /** A histogram with {@link #BUCKETS}. */
    static final class Histogram {
        private final AtomicLongArray counts = new AtomicLongArray(BUCKETS.length);
        private final AtomicLong count = new AtomicLong();
        private final AtomicLong sumNanos = new AtomicLong();

        void record(long nanos) {
            double s = nanos / 1e9;
            for (int i = 0; i < BUCKETS.length; i++) {
                if (s <= BUCKETS[i]) {
                    counts.incrementAndGet(i);
                }
            }
            count.incrementAndGet();
            sumNanos.addAndGet(nanos);
        }

        long count() {
            return count.get();
        }

        void render(StringBuilder sb, String name, String labels) {
            String sep = labels.isEmpty() ? "" : labels + ",";
            for (int i = 0; i < BUCKETS.length; i++) {
                sb.append(name).append("_bucket{").append(sep).append("le=\"").append(BUCKETS[i]).append("\"} ")
                        .append(counts.get(i)).append('\n');
            }
            sb.append(name).append("_bucket{").append(sep).append("le=\"+Inf\"} ").append(count.get()).append('\n');
            String l = labels.isEmpty() ? "" : "{" + labels + "}";
            sb.append(name).append("_sum").append(l).append(' ').append(sumNanos.get() / 1e9).append('\n');
            sb.append(name).append("_count").append(l).append(' ').append(count.get()).append('\n');
        }
    }

    void recordPush(String typeUrl, long generateNanos) {
        String t = TypeUrls.shortName(typeUrl);
        pushes.computeIfAbsent(t, k -> new AtomicLong()).incrementAndGet();
        pushTime.computeIfAbsent(t, k -> new Histogram()).record(generateNanos);
    }

    void recordConvergence(long nanos) {
        convergence.record(nanos);
    }

    void recordReject(String typeUrl) {
        rejects.computeIfAbsent(TypeUrls.shortName(typeUrl), k -> new AtomicLong()).incrementAndGet();
    }

    /** Counts a push trigger ({@code config}, {@code endpoint}, ...). */
    public void recordTrigger(String reason) {
        triggers.computeIfAbsent(reason, k -> new AtomicLong()).incrementAndGet();
    }

    void setConnected(LongSupplier connected) {
        this.connected = connected;
    }

    void setCurrentRejects(Map<String, LongSupplier> byType) {
        this.currentRejects = Map.copyOf(byType);
    }

    /** Sets the model gauges. */
    public void setModelSize(long services, long virtualServices, long rejectedConfigs) {
        this.services = services;
        this.virtualServices = virtualServices;
        this.rejectedConfigs = rejectedConfigs;
    }

    /** Returns how many pushes of {@code typeUrl} were sent. */
    public long pushes(String typeUrl) {
        AtomicLong c = pushes.get(TypeUrls.shortName(typeUrl));
        return c == null ? 0 : c.get();
    }

    /** Returns how many NACKs of {@code typeUrl} were received. */
    public long rejects(String typeUrl) {
        AtomicLong c = rejects.get(TypeUrls.shortName(typeUrl));
        return c == null ? 0 : c.get();
    }

    /** Renders every metric in Prometheus text exposition format 0.0.4. */
    public String renderPrometheus() {
        StringBuilder sb = new StringBuilder(4096);
        sb.append("# HELP pilot_xds Number of endpoints connected to this pilot using XDS.\n# TYPE pilot_xds gauge\n");
        sb.append("pilot_xds ").append(connected.getAsLong()).append('\n');
        sb.append("# HELP pilot_xds_pushes Pilot build and send errors for lds, rds, cds and eds.\n")
                .append("# TYPE pilot_xds_pushes counter\n");
        for (String t : new String[] {"cds", "eds", "lds", "rds"}) {
            AtomicLong c = pushes.get(t);
            sb.append("pilot_xds_pushes{type=\"").append(t).append("\"} ").append(c == null ? 0 : c.get()).append('\n');
        }
        sb.append("# HELP pilot_xds_push_time Total time in seconds Pilot takes to push lds, rds, cds and eds.\n")
                .append("# TYPE pilot_xds_push_time histogram\n");
        for (String t : new String[] {"cds", "eds", "lds", "rds"}) {
            pushTime.computeIfAbsent(t, k -> new Histogram()).render(sb, "pilot_xds_push_time", "type=\"" + t + "\"");
        }
        sb.append("# HELP pilot_proxy_convergence_time Delay in seconds between config change and a proxy "
                + "receiving all required configuration.\n# TYPE pilot_proxy_convergence_time histogram\n");
        convergence.render(sb, "pilot_proxy_convergence_time", "");
        for (String t : new String[] {"cds", "eds", "lds", "rds"}) {
            String name = "pilot_xds_" + t + "_reject";
            LongSupplier s = currentRejects.get(t);
            sb.append("# HELP ").append(name).append(" Pilot rejected ").append(t.toUpperCase(Locale.ROOT))
                    .append(" configs.\n# TYPE ").append(name).append(" gauge\n")
                    .append(name).append(' ').append(s == null ? 0 : s.getAsLong()).append('\n');
        }
        sb.append("# HELP pilot_total_xds_rejects Total number of XDS responses from pilot rejected by proxy.\n")
                .append("# TYPE pilot_total_xds_rejects counter\n");
        for (String t : new String[] {"cds", "eds", "lds", "rds"}) {
            AtomicLong c = rejects.get(t);
            sb.append("pilot_total_xds_rejects{type=\"").append(t).append("\"} ")
                    .append(c == null ? 0 : c.get()).append('\n');
        }
        sb.append("# HELP pilot_push_triggers Total number of times a push was triggered, labeled by reason.\n")
                .append("# TYPE pilot_push_triggers counter\n");
        triggers.forEach((k, v) -> sb.append("pilot_push_triggers{type=\"").append(k).append("\"} ")
                .append(v.get()).append('\n'));
        sb.append("# HELP pilot_services Total services known to pilot.\n# TYPE pilot_services gauge\n")
                .append("pilot_services ").append(services).append('\n');
        sb.append("# HELP pilot_virt_services Total virtual services known to pilot.\n# TYPE pilot_virt_services gauge\n")
                .append("pilot_virt_services ").append(virtualServices).append('\n');
        sb.append("# HELP pilot_total_rejected_configs Total number of configs that Pilot had to reject or ignore.\n")
                .append("# TYPE pilot_total_rejected_configs gauge\n")
                .append("pilot_total_rejected_configs ").append(rejectedConfigs).append('\n');
        return sb.toString();
    }
}
