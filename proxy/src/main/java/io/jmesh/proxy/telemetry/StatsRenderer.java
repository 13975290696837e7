package io.jmesh.proxy.telemetry;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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

    /**
     * Envoy's default tag extractors used here, in the order Envoy applies them (and so prints the labels):
     * first those that apply to any stat name, then those keyed by the name's first token.
     */
    private static final List<TagExtractor> EXTRACTORS = List.of(
            new TagExtractor("envoy_response_code", "_rq(_(\\d{3}))$"),
            new TagExtractor("envoy_response_code_class", "_rq_((\\d))xx$"),
            // http.<stat_prefix>. and listener.<address>.http.<stat_prefix>.
            new TagExtractor("envoy_http_conn_manager_prefix", "^(?:|listener(?=\\.).*?\\.)http\\.((.*?)\\.)"),
            // listener.<address>. e.g. listener.0.0.0.0_15001.downstream_cx_total, listener.[__1]_80.x
            new TagExtractor("envoy_listener_address",
                    "^listener\\.(((?:[_.\\d]*|[_\\[\\]aAbBcCdDeEfF\\d]*))\\.)"),
            new TagExtractor("envoy_cluster_name", "^cluster\\.((.*?)\\.)"),
            new TagExtractor("envoy_tcp_prefix", "^tcp\\.((.*?)\\.)"));

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
        renderFamilies(out, stats.counterValues(), "counter");
        renderFamilies(out, stats.gaugeValues(), "gauge");
        renderHistograms(out, stats.histograms());
        return out.toString();
    }

    private static void renderFamilies(StringBuilder out, SortedMap<String, Long> values, String type) {
        SortedMap<String, List<String>> families = new TreeMap<>();
        for (Map.Entry<String, Long> e : values.entrySet()) {
            Tagged tagged = extract(e.getKey());
            String sample = tagged.metricName + '{' + tagged.labels + "} " + e.getValue();
            families.computeIfAbsent(tagged.metricName, k -> new ArrayList<>()).add(sample);
        }
        families.forEach((name, samples) -> {
            out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
            samples.stream().sorted().forEach(s -> out.append(s).append('\n'));
        });
    }

    private static void renderHistograms(StringBuilder out, SortedMap<String, Histogram> histograms) {
        SortedMap<String, List<String>> families = new TreeMap<>();
        for (Histogram h : histograms.values()) {
            Tagged tagged = extract(h.name());
            String sep = tagged.labels.isEmpty() ? "" : ",";
            long[] cumulative = h.cumulativeCounts();
            long count = h.count();
            StringBuilder sample = new StringBuilder();
            for (int i = 0; i < cumulative.length; i++) {
                sample.append(tagged.metricName).append("_bucket{").append(tagged.labels).append(sep)
                        .append("le=\"").append(number(Histogram.BUCKETS[i])).append("\"} ").append(cumulative[i])
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

    /** Applies the tag extractors to a stat name; visible for tests. */
    static Tagged extract(String statName) {
        String name = statName;
        StringBuilder labels = new StringBuilder();
        for (TagExtractor extractor : EXTRACTORS) {
            Matcher m = extractor.pattern.matcher(name);
            if (!m.find()) {
                continue;
            }
            if (labels.length() > 0) {
                labels.append(',');
            }
            labels.append(extractor.tagName).append("=\"").append(escapeLabelValue(m.group(2))).append('"');
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

    private static final class TagExtractor {
        final String tagName;
        final Pattern pattern;

        TagExtractor(String tagName, String regex) {
            this.tagName = tagName;
            this.pattern = Pattern.compile(regex);
        }
    }
}
