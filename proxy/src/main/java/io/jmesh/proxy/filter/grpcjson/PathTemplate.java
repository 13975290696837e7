package io.jmesh.proxy.filter.grpcjson;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.jmesh.proxy.config.ConfigException;

/**
 * A compiled {@code google.api.http} path template ({@code /v1/{name=shelves/*}/books/{book.id}:verb}): literal
 * segments, {@code *} (one segment), {@code **} (any number of segments), variables (a field path, bound to one
 * segment or to a sub-template) and an optional custom verb. Immutable.
 */
final class PathTemplate {

    private final Pattern pattern;
    private final List<String> variables;

    private PathTemplate(Pattern pattern, List<String> variables) {
        this.pattern = pattern;
        this.variables = variables;
    }

    static PathTemplate parse(String template, String path) throws ConfigException {
        if (!template.startsWith("/")) {
            throw new ConfigException(path + ": " + template + " (expected: a path template starting with /)");
        }
        String body = template;
        String verb = null;
        int lastSlash = template.lastIndexOf('/');
        int colon = template.indexOf(':', lastSlash);
        if (colon > 0 && template.indexOf('}', colon) < 0) {
            verb = template.substring(colon + 1);
            body = template.substring(0, colon);
        }
        StringBuilder re = new StringBuilder();
        List<String> vars = new ArrayList<>();
        int i = 0;
        while (i < body.length()) {
            char c = body.charAt(i);
            if (c == '{') {
                int end = body.indexOf('}', i);
                if (end < 0) {
                    throw new ConfigException(path + ": " + template + " (expected: a closing } )");
                }
                String v = body.substring(i + 1, end);
                int eq = v.indexOf('=');
                String name = eq < 0 ? v : v.substring(0, eq);
                String sub = eq < 0 ? "*" : v.substring(eq + 1);
                if (name.isEmpty()) {
                    throw new ConfigException(path + ": " + template + " (expected: a field path in {})");
                }
                vars.add(name);
                re.append('(').append(segments(sub)).append(')');
                i = end + 1;
            } else {
                int next = body.indexOf('{', i);
                String lit = body.substring(i, next < 0 ? body.length() : next);
                re.append(segments(lit));
                i = next < 0 ? body.length() : next;
            }
        }
        if (verb != null) {
            re.append(Pattern.quote(":" + verb));
        }
        return new PathTemplate(Pattern.compile(re.toString()), List.copyOf(vars));
    }

    /** A regex for literal text that may hold {@code *} and {@code **} segments. */
    private static String segments(String s) {
        StringBuilder re = new StringBuilder();
        String[] parts = s.split("/", -1);
        for (int k = 0; k < parts.length; k++) {
            if (k > 0) {
                re.append('/');
            }
            String p = parts[k];
            if (p.equals("**")) {
                re.append(".*");
            } else if (p.equals("*")) {
                re.append("[^/]+");
            } else if (!p.isEmpty()) {
                re.append(Pattern.quote(p));
            }
        }
        return re.toString();
    }

    /** The variable bindings (field path → raw value) when {@code path} (without query) matches, else null. */
    Map<String, String> match(String path) {
        Matcher m = pattern.matcher(path);
        if (!m.matches()) {
            return null;
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (int g = 0; g < variables.size(); g++) {
            out.put(variables.get(g), m.group(g + 1));
        }
        return out;
    }
}
