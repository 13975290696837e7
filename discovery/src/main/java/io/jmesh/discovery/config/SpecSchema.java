package io.jmesh.discovery.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Checks a spec's JSON tree against its record type before it is bound, the way istiod's JSON-to-proto reading
 * (protojson) judges it, and reports <em>every</em> problem, not the first: a field the kind does not have
 * ({@code spec.http[0].rout: unknown field (expected: one of ...)}), and a value of the wrong JSON type
 * ({@code spec.hosts[0]: true (expected: a string)}): as in Go, a YAML {@code yes}, {@code on} or number is not a
 * string, an integer may be written as a number or a string of digits, and a bool must be {@code true} or
 * {@code false}. Messages name fields and values only, never Java or Jackson types. Stateless.
 */
final class SpecSchema {

    private SpecSchema() {}

    /** Appends the problems of {@code node} read as {@code type} at {@code path} to {@code problems}. */
    static void check(JsonNode node, Type type, String path, List<String> problems) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return;
        }
        Class<?> raw = rawClass(type);
        if (raw == String.class) {
            if (!node.isTextual()) {
                problems.add(path + ": " + show(node) + " (expected: a string)");
            }
        } else if (raw == Integer.class || raw == int.class || raw == Long.class || raw == long.class) {
            if (!(node.isIntegralNumber() || (node.isNumber() && node.asDouble() == Math.rint(node.asDouble()))
                    || (node.isTextual() && node.asText().matches("-?[0-9]+")))) {
                problems.add(path + ": " + show(node) + " (expected: an integer)");
            } else if ((raw == Integer.class || raw == int.class) && (node.isNumber() ? !fitsInt(node.asDouble())
                    : !fitsInt(Double.parseDouble(node.asText())))) {
                problems.add(path + ": " + show(node) + " (expected: an integer of at most 32 bits)");
            }
        } else if (raw == Double.class || raw == double.class || raw == Float.class || raw == float.class) {
            if (!(node.isNumber() || (node.isTextual() && isNumber(node.asText())))) {
                problems.add(path + ": " + show(node) + " (expected: a number)");
            }
        } else if (raw == Boolean.class || raw == boolean.class) {
            if (!node.isBoolean()) {
                problems.add(path + ": " + show(node) + " (expected: true or false)");
            }
        } else if (List.class.isAssignableFrom(raw)) {
            if (!node.isArray()) {
                problems.add(path + ": " + show(node) + " (expected: a list)");
                return;
            }
            Type element = typeArg(type, 0);
            for (int i = 0; i < node.size(); i++) {
                Class<?> elementClass = rawClass(element);
                boolean scalar = elementClass == String.class || Number.class.isAssignableFrom(elementClass)
                        || elementClass == Boolean.class;
                // YAML's ~, null or an empty entry (Go's YAML reads ~ as null too); a null mapping in a list is left
                // to the kind's validator, which names it as istiod does
                if (scalar && node.get(i).isNull()) {
                    problems.add(path + "[" + i + "]: null (expected: a value; quote \"~\" to mean the string)");
                    continue;
                }
                check(node.get(i), element, path + "[" + i + "]", problems);
            }
        } else if (Map.class.isAssignableFrom(raw)) {
            if (!node.isObject()) {
                problems.add(path + ": " + show(node) + " (expected: a mapping)");
                return;
            }
            Class<?> key = rawClass(typeArg(type, 0));
            Type value = typeArg(type, 1);
            for (Map.Entry<String, JsonNode> e : node.properties()) {
                if ((key == Integer.class || key == Long.class) && !e.getKey().matches("-?[0-9]{1,10}")) {
                    problems.add(path + "." + e.getKey() + ": " + e.getKey() + " (expected: a key that is a number)");
                    continue;
                }
                check(e.getValue(), value, path + "." + e.getKey(), problems);
            }
        } else if (raw.isRecord()) {
            if (!node.isObject()) {
                problems.add(path + ": " + show(node) + " (expected: a mapping)");
                return;
            }
            RecordComponent[] components = raw.getRecordComponents();
            for (Map.Entry<String, JsonNode> e : node.properties()) {
                RecordComponent rc = null;
                for (RecordComponent c : components) {
                    if (c.getName().equals(e.getKey())) {
                        rc = c;
                        break;
                    }
                }
                if (rc == null) {
                    TreeSet<String> known = new TreeSet<>();
                    for (RecordComponent c : components) {
                        known.add(c.getName());
                    }
                    problems.add(path + "." + e.getKey() + ": unknown field (expected: one of "
                            + String.join(", ", known) + ")");
                    continue;
                }
                check(e.getValue(), rc.getGenericType(), path + "." + e.getKey(), problems);
            }
        } else if (raw.isEnum()) {
            if (!node.isTextual()) {
                problems.add(path + ": " + show(node) + " (expected: a string)");
            }
        }
        // Object and other open types take any value.
    }

    private static boolean fitsInt(double v) {
        return v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE;
    }

    private static boolean isNumber(String s) {
        try {
            Double.parseDouble(s);
            return !s.isBlank();
        } catch (NumberFormatException e) {
            return false;
        }
    }

    /** The value as a user wrote it, short: scalars as text, collections as JSON cut at 60 characters. */
    static String show(JsonNode node) {
        String s = node.isValueNode() ? node.asText() : node.toString();
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }

    private static Class<?> rawClass(Type type) {
        if (type instanceof Class<?> c) {
            return c;
        }
        if (type instanceof ParameterizedType p && p.getRawType() instanceof Class<?> c) {
            return c;
        }
        return Object.class;
    }

    private static Type typeArg(Type type, int i) {
        if (type instanceof ParameterizedType p && p.getActualTypeArguments().length > i) {
            return p.getActualTypeArguments()[i];
        }
        return Object.class;
    }
}
