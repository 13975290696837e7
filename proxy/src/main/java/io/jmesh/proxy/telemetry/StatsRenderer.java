package io.jmesh.proxy.telemetry;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Matcher;

/**
 * Renders a {@link Stats} store the way Envoy's admin endpoints do.
 *
 * <ul>
 *   <li>{@link #text(Stats)}: {@code /stats}, one {@code name: value} line per counter and gauge, sorted by
 *       name.</li>
 *   <li>{@link #prometheus(Stats)}: {@code /stats/prometheus}, Prometheus text exposition format 0.0.4 with
 *       Envoy's default tag extraction (see Envoy's {@code source/common/config/well_known_names.cc}): the
 *       tag's part is removed from the stat name, the rest is prefixed with {@code envoy_} and every
 *       character outside {@code [a-zA-Z0-9_]} becomes {@code _}.</li>
 * </ul>
 *
 * <p>Histograms appear in the Prometheus output only, as Prometheus histograms with Envoy's default buckets.
 *
 * <p>Both methods read a snapshot and may be called from any thread.
 */
public final class StatsRenderer {

    private StatsRenderer() {}

    /** Envoy's {@code /stats} text: every counter and gauge as {@code name: value}, sorted by name. */
    public static String text(Stats stats) {
        SortedMap<String, Long> all = new TreeMap<>(stats.counterValues());
        all.putAll(stats.gaugeValues());
        StringBuilder out = new StringBuilder(all.size() * 48);
        all.forEach((name, value) -> out.append(name).append(": ").append(value).append('\n'));
        return out.toString();
    }

    /**
     * Envoy's {@code /stats/prometheus}: counters, then gauges, each metric family sorted by name with one
     * {@code # TYPE} line followed by its samples, e.g.
     * <pre>
     * # TYPE envoy_cluster_upstream_rq counter
     * envoy_cluster_upstream_rq{envoy_response_code="200",envoy_cluster_name="backend"} 3
     * </pre>
     */
    public static String prometheus(Stats stats) {
        StringBuilder out = new StringBuilder();
        List<TagExtractor> extractors = stats.tagExtractors();
        renderFamilies(out, stats.counterValues(), "counter", extractors);
        renderFamilies(out, stats.gaugeValues(), "gauge", extractors);
        renderHistograms(out, stats.histograms(), extractors);
        renderTagged(out, stats.tagged());
        return out.toString();
    }

    /** The labelled families (Istio's metrics), each with its own {@code # TYPE} line, series sorted. */
    private static void renderTagged(StringBuilder out, TaggedMetrics tagged) {
        for (TaggedMetrics.Family f : tagged.families().values()) {
            Map<List<String>, Object> series = f.series();
            if (series.isEmpty()) {
                continue;
            }
            List<String> names = f.labelNames();
            List<String> samples = new ArrayList<>(series.size());
            for (Map.Entry<List<String>, Object> e : series.entrySet()) {
                StringBuilder labels = new StringBuilder();
                List<String> values = e.getKey();
                for (int i = 0; i < names.size(); i++) {
                    if (i > 0) {
                        labels.append(',');
                    }
                    labels.append(names.get(i)).append("=\"").append(escapeLabelValue(values.get(i))).append('"');
                }
                String l = labels.toString();
                StringBuilder sample = new StringBuilder();
                if (e.getValue() instanceof Counter c) {
                    sample.append(f.name()).append('{').append(l).append("} ").append(c.get()).append('\n');
                } else {
                    Histogram h = (Histogram) e.getValue();
                    String sep = l.isEmpty() ? "" : ",";
                    long[] cumulative = h.cumulativeCounts();
                    long count = h.count();
                    double[] bounds = h.bounds();
                    for (int i = 0; i < cumulative.length; i++) {
                        sample.append(f.name()).append("_bucket{").append(l).append(sep).append("le=\"")
                                .append(number(bounds[i])).append("\"} ").append(cumulative[i]).append('\n');
                    }
                    sample.append(f.name()).append("_bucket{").append(l).append(sep).append("le=\"+Inf\"} ")
                            .append(count).append('\n');
                    sample.append(f.name()).append("_sum{").append(l).append("} ").append(number(h.sum())).append('\n');
                    sample.append(f.name()).append("_count{").append(l).append("} ").append(count).append('\n');
                }
                samples.add(sample.toString());
            }
            out.append("# TYPE ").append(f.name()).append(' ')
                    .append(f.type() == TaggedMetrics.Type.COUNTER ? "counter" : "histogram").append('\n');
            samples.stream().sorted().forEach(out::append);
        }
    }

    private static void renderFamilies(StringBuilder out, SortedMap<String, Long> values, String type,
                                       List<TagExtractor> extractors) {
        SortedMap<String, List<String>> families = new TreeMap<>();
        for (Map.Entry<String, Long> e : values.entrySet()) {
            Tagged tagged = extract(e.getKey(), extractors);
            String sample = tagged.metricName + '{' + tagged.labels + "} " + e.getValue();
            families.computeIfAbsent(tagged.metricName, k -> new ArrayList<>()).add(sample);
        }
        families.forEach((name, samples) -> {
            out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
            samples.stream().sorted().forEach(s -> out.append(s).append('\n'));
        });
    }

    private static void renderHistograms(StringBuilder out, SortedMap<String, Histogram> histograms,
                                         List<TagExtractor> extractors) {
        SortedMap<String, List<String>> families = new TreeMap<>();
        for (Histogram h : histograms.values()) {
            Tagged tagged = extract(h.name(), extractors);
            String sep = tagged.labels.isEmpty() ? "" : ",";
            long[] cumulative = h.cumulativeCounts();
            long count = h.count();
            StringBuilder sample = new StringBuilder();
            for (int i = 0; i < cumulative.length; i++) {
                sample.append(tagged.metricName).append("_bucket{").append(tagged.labels).append(sep)
                        .append("le=\"").append(number(h.bounds()[i])).append("\"} ").append(cumulative[i])
                        .append('\n');
            }
            sample.append(tagged.metricName).append("_bucket{").append(tagged.labels).append(sep)
                    .append("le=\"+Inf\"} ").append(count).append('\n');
            sample.append(tagged.metricName).append("_sum{").append(tagged.labels).append("} ")
                    .append(number(h.sum())).append('\n');
            sample.append(tagged.metricName).append("_count{").append(tagged.labels).append("} ")
                    .append(count).append('\n');
            families.computeIfAbsent(tagged.metricName, k -> new ArrayList<>()).add(sample.toString());
        }
        families.forEach((name, samples) -> {
            out.append("# TYPE ").append(name).append(" histogram\n");
            samples.stream().sorted().forEach(out::append);
        });
    }

    /** Prints a double like C's {@code %.32g} does for these values: integers without a fraction. */
    private static String number(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return Double.toString(v);
    }

    /** Applies Envoy's default tag extractors to a stat name; visible for tests. */
    static Tagged extract(String statName) {
        return extract(statName, TagExtractor.ENVOY_DEFAULTS);
    }

    /**
     * Applies {@code extractors} in order, as Envoy does: each cuts its first group out of the name and takes its
     * second group (else the first) as the tag's value; a tag name already extracted is not extracted again.
     */
    static Tagged extract(String statName, List<TagExtractor> extractors) {
        String name = statName;
        StringBuilder labels = new StringBuilder();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (TagExtractor extractor : extractors) {
            Matcher m = extractor.pattern().matcher(name);
            if (!m.find() || m.groupCount() < 1 || m.group(1) == null || !seen.add(extractor.tagName())) {
                continue;
            }
            if (labels.length() > 0) {
                labels.append(',');
            }
            String value = m.groupCount() >= 2 && m.group(2) != null ? m.group(2) : m.group(1);
            labels.append(sanitize(extractor.tagName())).append("=\"").append(escapeLabelValue(value)).append('"');
            name = name.substring(0, m.start(1)) + name.substring(m.end(1));
        }
        return new Tagged(sanitize("envoy_" + name), labels.toString());
    }

    private static String sanitize(String name) {
        StringBuilder sb = new StringBuilder(name.length());
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
            sb.append(ok ? c : '_');
        }
        return sb.toString();
    }

    private static String escapeLabelValue(String value) {
        StringBuilder sb = new StringBuilder(value.length());
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '\\': sb.append("\\\\"); break;
                case '"': sb.append("\\\""); break;
                case '\n': sb.append("\\n"); break;
                default: sb.append(c);
            }
        }
        return sb.toString();
    }

    static final class Tagged {
        final String metricName;
        final String labels;

        Tagged(String metricName, String labels) {
            this.metricName = metricName;
            this.labels = labels;
        }
    }

}
