package io.jmesh.proxy.router;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import io.jmesh.proxy.config.ConfigException;

/**
 * Envoy's {@code MetadataMatcher} over a stream's dynamic metadata: the value at {@code filter} / {@code path}
 * matched by a {@code ValueMatcher} ({@code null_match}, {@code double_match}, {@code string_match},
 * {@code bool_match}, {@code present_match}, {@code list_match.one_of}, {@code or_match}); {@code invert} negates.
 * Route matching uses it for {@code RouteMatch.dynamic_metadata}, which is how Istio routes on JWT claims.
 * Immutable and thread-safe.
 */
public final class MetadataMatch {

    private final String filter;
    private final List<String> path;
    private final Matcher value;
    private final boolean invert;

    private interface Matcher {
        boolean matches(Value v);
    }

    private MetadataMatch(String filter, List<String> path, Matcher value, boolean invert) {
        this.filter = filter;
        this.path = path;
        this.value = value;
        this.invert = invert;
    }

    /** Validates {@code m}; {@code path} names it in errors. */
    public static MetadataMatch from(MetadataMatcher m, String path) throws ConfigException {
        if (m.getFilter().isEmpty()) {
            throw new ConfigException(path + ".filter: \"\" (expected: a metadata namespace)");
        }
        if (m.getPathCount() == 0) {
            throw new ConfigException(path + ".path: [] (expected: at least one key)");
        }
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < m.getPathCount(); i++) {
            if (m.getPath(i).getKey().isEmpty()) {
                throw new ConfigException(path + ".path[" + i + "].key: \"\" (expected: a key)");
            }
            keys.add(m.getPath(i).getKey());
        }
        if (!m.hasValue()) {
            throw new ConfigException(path + ".value: (expected: set)");
        }
        return new MetadataMatch(m.getFilter(), List.copyOf(keys), value(m.getValue(), path + ".value"), m.getInvert());
    }

    private static Matcher value(ValueMatcher v, String path) throws ConfigException {
        switch (v.getMatchPatternCase()) {
            case NULL_MATCH:
                return x -> x != null && x.hasNullValue();
            case DOUBLE_MATCH: {
                var d = v.getDoubleMatch();
                if (d.hasRange()) {
                    double start = d.getRange().getStart();
                    double end = d.getRange().getEnd();
                    return x -> x != null && x.hasNumberValue() && x.getNumberValue() >= start && x.getNumberValue() < end;
                }
                double exact = d.getExact();
                return x -> x != null && x.hasNumberValue() && x.getNumberValue() == exact;
            }
            case STRING_MATCH: {
                StringMatch s = StringMatch.from(v.getStringMatch(), path + ".string_match");
                return x -> x != null && x.hasStringValue() && s.matches(x.getStringValue());
            }
            case BOOL_MATCH: {
                boolean b = v.getBoolMatch();
                return x -> x != null && x.hasBoolValue() && x.getBoolValue() == b;
            }
            case PRESENT_MATCH: {
                boolean present = v.getPresentMatch();
                return x -> (x != null) == present;
            }
            case LIST_MATCH: {
                if (!v.getListMatch().hasOneOf()) {
                    throw new ConfigException(path + ".list_match: {} (expected: one_of)");
                }
                Matcher item = value(v.getListMatch().getOneOf(), path + ".list_match.one_of");
                return x -> {
                    if (x == null || !x.hasListValue()) {
                        return false;
                    }
                    for (Value e : x.getListValue().getValuesList()) {
                        if (item.matches(e)) {
                            return true;
                        }
                    }
                    return false;
                };
            }
            case OR_MATCH: {
                List<Matcher> any = new ArrayList<>();
                for (int i = 0; i < v.getOrMatch().getValueMatchersCount(); i++) {
                    any.add(value(v.getOrMatch().getValueMatchers(i), path + ".or_match.value_matchers[" + i + "]"));
                }
                return x -> {
                    for (Matcher m : any) {
                        if (m.matches(x)) {
                            return true;
                        }
                    }
                    return false;
                };
            }
            default:
                throw new ConfigException(path + ": {} (expected: one of null_match, double_match, string_match,"
                        + " bool_match, present_match, list_match, or_match)");
        }
    }

    /** Whether the metadata (namespace to struct; null for none) matches. */
    public boolean matches(Map<String, Struct> metadata) {
        Struct s = metadata == null ? null : metadata.get(filter);
        Value v = null;
        for (int i = 0; i < path.size(); i++) {
            if (s == null) {
                v = null;
                break;
            }
            v = s.getFieldsMap().get(path.get(i));
            if (i < path.size() - 1) {
                s = v != null && v.hasStructValue() ? v.getStructValue() : null;
            }
        }
        return value.matches(v) != invert;
    }
}
