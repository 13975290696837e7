package io.jmesh.proxy.testing;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for tests that scrape {@code /stats/prometheus}.
 * It fails (with the line number) on anything a Prometheus server would refuse or that the format forbids: a bad
 * metric or label name, a bad escape, a sample before its family's {@code # TYPE}, a family declared twice or whose
 * samples are not contiguous, a duplicate series, a histogram whose buckets decrease or whose {@code +Inf} bucket
 * differs from {@code _count}, a label named twice.
 */
public final class PrometheusText {

    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

    /** One sample: metric name (with {@code _bucket}, {@code _sum}, {@code _count}), labels in order, value. */
    public record Sample(String name, Map<String, String> labels, double value) {}

    private final Map<String, String> types = new LinkedHashMap<>();
    private final List<Sample> samples = new ArrayList<>();

    private PrometheusText() {}

    /** Parses {@code text} or throws {@link IllegalArgumentException} naming the line. */
    public static PrometheusText parse(String text) {
        PrometheusText out = new PrometheusText();
        Map<String, Boolean> closed = new TreeMap<>();
        String current = null;
        java.util.Set<String> seen = new java.util.HashSet<>();
        String[] lines = text.split("\n", -1);
        if (!text.isEmpty() && !text.endsWith("\n")) {
            throw new IllegalArgumentException("the text does not end with a newline");
        }
        for (int n = 0; n < lines.length; n++) {
            String line = lines[n];
            if (line.isEmpty()) {
                continue;
            }
            String at = "line " + (n + 1) + ": " + line + ": ";
            if (line.startsWith("#")) {
                String[] parts = line.split(" ", 4);
                if (parts.length >= 3 && parts[1].equals("TYPE")) {
                    if (parts.length != 4 || !NAME.matcher(parts[2]).matches()
                            || !List.of("counter", "gauge", "histogram", "summary", "untyped").contains(parts[3])) {
                        throw new IllegalArgumentException(at + "bad TYPE line");
                    }
                    if (out.types.containsKey(parts[2])) {
                        throw new IllegalArgumentException(at + "family declared twice");
                    }
                    if (current != null) {
                        closed.put(current, true);
                    }
                    out.types.put(parts[2], parts[3]);
                    current = parts[2];
                }
                continue;
            }
            Sample s = parseSample(line, at);
            String family = familyOf(s.name(), out.types);
            if (family == null) {
                throw new IllegalArgumentException(at + "sample before its # TYPE");
            }
            if (!family.equals(current)) {
                throw new IllegalArgumentException(at + "samples of " + family + " are not contiguous");
            }
            String key = s.name() + s.labels();
            if (!seen.add(key)) {
                throw new IllegalArgumentException(at + "duplicate series");
            }
            out.samples.add(s);
        }
        out.checkHistograms();
        return out;
    }

    private static String familyOf(String name, Map<String, String> types) {
        if (types.containsKey(name)) {
            return name;
        }
        for (String suffix : List.of("_bucket", "_sum", "_count")) {
            if (name.endsWith(suffix)) {
                String base = name.substring(0, name.length() - suffix.length());
                if ("histogram".equals(types.get(base))) {
                    return base;
                }
            }
        }
        return null;
    }

    private static Sample parseSample(String line, String at) {
        int i = 0;
        Matcher m = NAME.matcher(line);
        if (!m.lookingAt()) {
            throw new IllegalArgumentException(at + "bad metric name");
        }
        String name = m.group();
        i = m.end();
        Map<String, String> labels = new LinkedHashMap<>();
        if (i < line.length() && line.charAt(i) == '{') {
            i++;
            while (line.charAt(i) != '}') {
                Matcher lm = LABEL.matcher(line).region(i, line.length());
                if (!lm.lookingAt()) {
                    throw new IllegalArgumentException(at + "bad label name at " + i);
                }
                String label = lm.group();
                i = lm.end();
                if (line.charAt(i) != '=' || line.charAt(i + 1) != '"') {
                    throw new IllegalArgumentException(at + "expected =\" at " + i);
                }
                i += 2;
                StringBuilder v = new StringBuilder();
                while (line.charAt(i) != '"') {
                    char c = line.charAt(i);
                    if (c == '\\') {
                        char e = line.charAt(i + 1);
                        switch (e) {
                            case '\\' -> v.append('\\');
                            case '"' -> v.append('"');
                            case 'n' -> v.append('\n');
                            default -> throw new IllegalArgumentException(at + "bad escape \\" + e);
                        }
                        i += 2;
                    } else {
                        v.append(c);
                        i++;
                    }
                }
                i++;
                if (labels.put(label, v.toString()) != null) {
                    throw new IllegalArgumentException(at + "label " + label + " twice");
                }
                if (line.charAt(i) == ',') {
                    i++;
                } else if (line.charAt(i) != '}') {
                    throw new IllegalArgumentException(at + "expected , or } at " + i);
                }
            }
            i++;
        }
        if (i >= line.length() || line.charAt(i) != ' ') {
            throw new IllegalArgumentException(at + "expected a space before the value");
        }
        String[] rest = line.substring(i + 1).split(" ");
        if (rest.length > 2) {
            throw new IllegalArgumentException(at + "trailing text");
        }
        double value;
        try {
            value = switch (rest[0]) {
                case "+Inf" -> Double.POSITIVE_INFINITY;
                case "-Inf" -> Double.NEGATIVE_INFINITY;
                case "NaN" -> Double.NaN;
                default -> Double.parseDouble(rest[0]);
            };
            if (rest.length == 2) {
                Long.parseLong(rest[1]);
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(at + "bad value");
        }
        return new Sample(name, Collections.unmodifiableMap(labels), value);
    }

    private void checkHistograms() {
        Map<String, List<Sample>> buckets = new LinkedHashMap<>();
        Map<String, Double> counts = new LinkedHashMap<>();
        for (Sample s : samples) {
            String family = familyOf(s.name(), types);
            if (!"histogram".equals(types.get(family))) {
                continue;
            }
            Map<String, String> withoutLe = new LinkedHashMap<>(s.labels());
            withoutLe.remove("le");
            String key = family + withoutLe;
            if (s.name().endsWith("_bucket")) {
                if (!s.labels().containsKey("le")) {
                    throw new IllegalArgumentException(s + ": bucket without le");
                }
                buckets.computeIfAbsent(key, k -> new ArrayList<>()).add(s);
            } else if (s.name().endsWith("_count")) {
                counts.put(key, s.value());
            }
        }
        buckets.forEach((key, list) -> {
            double last = -1;
            double lastBound = Double.NEGATIVE_INFINITY;
            for (Sample b : list) {
                double bound = b.labels().get("le").equals("+Inf") ? Double.POSITIVE_INFINITY
                        : Double.parseDouble(b.labels().get("le"));
                if (bound <= lastBound || b.value() < last) {
                    throw new IllegalArgumentException(key + ": buckets out of order or decreasing at " + b);
                }
                last = b.value();
                lastBound = bound;
            }
            if (lastBound != Double.POSITIVE_INFINITY || !Double.valueOf(last).equals(counts.get(key))) {
                throw new IllegalArgumentException(key + ": +Inf bucket " + last + " != _count " + counts.get(key));
            }
        });
    }

    /** The type of a family, or null. */
    public String type(String family) {
        return types.get(family);
    }

    /** Every sample of metric {@code name} (exact, e.g. {@code istio_request_duration_milliseconds_count}). */
    public List<Sample> samples(String name) {
        List<Sample> out = new ArrayList<>();
        for (Sample s : samples) {
            if (s.name().equals(name)) {
                out.add(s);
            }
        }
        return out;
    }

    /** Every sample. */
    public List<Sample> samples() {
        return List.copyOf(samples);
    }
}
