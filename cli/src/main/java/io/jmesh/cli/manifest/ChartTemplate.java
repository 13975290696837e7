package io.jmesh.cli.manifest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;

/**
 * One Helm template of the jmesh chart, parsed with the small subset of Go's {@code text/template} (and Helm's
 * functions) that the chart uses, so that {@code jmesh manifest generate} and {@code helm template} print the
 * same objects from the same files. Supported, with Go's meaning:
 * <ul>
 *   <li>text, and actions between double braces, with the trim markers (a dash after the opening or before the
 *       closing braces) and comments (slash-star ... star-slash);</li>
 *   <li><code>.Values.a.b</code>: a string, number or boolean value (a missing value is an error, as with
 *       <code>helm template --strict</code>; a map or list must go through <code>toYaml</code>);</li>
 *   <li>the pipelines <code>| quote</code>, <code>| indent N</code>, <code>| nindent N</code>, and
 *       <code>toYaml .Values.x</code>;</li>
 *   <li><code>if X</code>, <code>if not X</code>, <code>else</code>, <code>end</code> where <code>X</code> is a
 *       <code>.Values</code> path: false when missing, false, 0, empty string, empty map or empty list.</li>
 * </ul>
 * Anything else is refused at parse time with the file and line. Instances are immutable and thread-safe.
 */
public final class ChartTemplate {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .disable(YAMLGenerator.Feature.SPLIT_LINES)
            .disable(YAMLGenerator.Feature.INDENT_ARRAYS_WITH_INDICATOR));

    private final String name;
    private final List<Node> nodes;

    private ChartTemplate(String name, List<Node> nodes) {
        this.name = name;
        this.nodes = nodes;
    }

    /** The template's name as given to {@link #parse} (e.g. {@code templates/service.yaml}). */
    public String name() {
        return name;
    }

    /**
     * Parses {@code text}.
     *
     * @throws ChartException naming {@code name} and the line of an unsupported or unbalanced action
     */
    public static ChartTemplate parse(String name, String text) {
        List<Token> tokens = tokenize(name, text);
        int[] pos = {0};
        List<Node> nodes = parseBlock(name, tokens, pos, false);
        if (pos[0] < tokens.size()) {
            Token t = tokens.get(pos[0]);
            throw new ChartException(name + ":" + t.line + ": unexpected {{ " + t.text + " }} (expected: no else or end "
                    + "outside an if)");
        }
        return new ChartTemplate(name, nodes);
    }

    /**
     * Renders with {@code values} ({@code .Values}).
     *
     * @throws ChartException naming the template and line of a missing value or a value of the wrong type
     */
    public String render(Map<String, Object> values) {
        StringBuilder out = new StringBuilder();
        render(nodes, values, out);
        return out.toString();
    }

    private void render(List<Node> list, Map<String, Object> values, StringBuilder out) {
        for (Node n : list) {
            if (n instanceof Text t) {
                out.append(t.text);
            } else if (n instanceof If i) {
                boolean truth = truthy(lookup(values, i.path));
                render(truth != i.negated ? i.then : i.otherwise, values, out);
            } else if (n instanceof Action a) {
                out.append(a.evaluate(values));
            }
        }
    }

    // ---------------------------------------------------------------------------------------------- parsing

    private record Token(boolean action, String text, int line) {}

    private static List<Token> tokenize(String name, String text) {
        List<Token> tokens = new ArrayList<>();
        int i = 0;
        int line = 1;
        boolean trimNext = false;
        while (i < text.length()) {
            int open = text.indexOf("{{", i);
            String chunk = open < 0 ? text.substring(i) : text.substring(i, open);
            if (trimNext) {
                int k = 0;
                while (k < chunk.length() && Character.isWhitespace(chunk.charAt(k))) {
                    k++;
                }
                line += count(chunk.substring(0, k));
                chunk = chunk.substring(k);
                trimNext = false;
            }
            if (open < 0) {
                tokens.add(new Token(false, chunk, line));
                break;
            }
            int close = text.indexOf("}}", open + 2);
            if (close < 0) {
                throw new ChartException(name + ":" + (line + count(chunk)) + ": {{ without }}");
            }
            String inner = text.substring(open + 2, close);
            if (inner.startsWith("- ") || inner.startsWith("-\n") || inner.equals("-")) {
                int end = chunk.length();
                while (end > 0 && Character.isWhitespace(chunk.charAt(end - 1))) {
                    end--;
                }
                String kept = chunk.substring(0, end);
                tokens.add(new Token(false, kept, line));
                line += count(chunk);
                inner = inner.substring(1);
            } else {
                tokens.add(new Token(false, chunk, line));
                line += count(chunk);
            }
            if (inner.endsWith(" -") || inner.endsWith("\n-")) {
                inner = inner.substring(0, inner.length() - 1);
                trimNext = true;
            }
            String action = inner.strip();
            if (!(action.startsWith("/*") && action.endsWith("*/"))) {
                tokens.add(new Token(true, action, line));
            }
            line += count(inner);
            i = close + 2;
        }
        tokens.removeIf(t -> !t.action && t.text.isEmpty());
        return tokens;
    }

    private static int count(String s) {
        int n = 0;
        for (int k = 0; k < s.length(); k++) {
            if (s.charAt(k) == '\n') {
                n++;
            }
        }
        return n;
    }

    private static List<Node> parseBlock(String name, List<Token> tokens, int[] pos, boolean inIf) {
        List<Node> nodes = new ArrayList<>();
        while (pos[0] < tokens.size()) {
            Token t = tokens.get(pos[0]);
            if (!t.action) {
                nodes.add(new Text(t.text));
                pos[0]++;
                continue;
            }
            String[] words = t.text.split("\\s+");
            if (words[0].equals("else") || words[0].equals("end")) {
                if (!inIf || words.length != 1) {
                    throw new ChartException(name + ":" + t.line + ": unexpected {{ " + t.text + " }} (expected: "
                            + (inIf ? "{{ else }} or {{ end }}" : "no else or end outside an if") + ")");
                }
                return nodes;
            }
            pos[0]++;
            if (words[0].equals("if")) {
                boolean negated = words.length == 3 && words[1].equals("not");
                String path = negated ? words[2] : words.length == 2 ? words[1] : null;
                if (path == null || !path.startsWith(".Values.")) {
                    throw new ChartException(name + ":" + t.line + ": {{ " + t.text + " }} (expected: if .Values.x or "
                            + "if not .Values.x)");
                }
                List<Node> then = parseBlock(name, tokens, pos, true);
                List<Node> otherwise = List.of();
                Token end = closing(name, tokens, pos, t);
                if (end.text.equals("else")) {
                    otherwise = parseBlock(name, tokens, pos, true);
                    end = closing(name, tokens, pos, t);
                    if (!end.text.equals("end")) {
                        throw new ChartException(name + ":" + end.line + ": a second {{ else }} (expected: {{ end }})");
                    }
                }
                nodes.add(new If(path(name, t.line, path), negated, then, otherwise));
            } else {
                nodes.add(Action.parse(name, t));
            }
        }
        return nodes;
    }

    private static Token closing(String name, List<Token> tokens, int[] pos, Token open) {
        if (pos[0] >= tokens.size()) {
            throw new ChartException(name + ":" + open.line + ": {{ " + open.text + " }} has no {{ end }}");
        }
        return tokens.get(pos[0]++);
    }

    static List<String> path(String name, int line, String expression) {
        if (!expression.matches("\\.Values(\\.[A-Za-z_][A-Za-z0-9_]*)+")) {
            throw new ChartException(name + ":" + line + ": " + expression + " (expected: .Values.key.key...)");
        }
        return List.of(expression.substring(".Values.".length()).split("\\."));
    }

    // ---------------------------------------------------------------------------------------------- values

    /** The value at {@code path} of {@code values}, or null when any step is missing. */
    static Object lookup(Map<String, Object> values, List<String> path) {
        Object v = values;
        for (String key : path) {
            if (!(v instanceof Map<?, ?> m)) {
                return null;
            }
            v = m.get(key);
        }
        return v;
    }

    /** Go's truth: false, 0, nil, and empty strings, maps and lists are false. */
    static boolean truthy(Object v) {
        if (v == null || Boolean.FALSE.equals(v)) {
            return false;
        }
        if (v instanceof Number n) {
            return n.doubleValue() != 0;
        }
        if (v instanceof String s) {
            return !s.isEmpty();
        }
        if (v instanceof Map<?, ?> m) {
            return !m.isEmpty();
        }
        if (v instanceof List<?> l) {
            return !l.isEmpty();
        }
        return true;
    }

    /** Helm's {@code toYaml}: block YAML without the document marker and the final newline. */
    static String toYaml(Object v) {
        try {
            String s = YAML.writeValueAsString(v);
            while (s.endsWith("\n")) {
                s = s.substring(0, s.length() - 1);
            }
            return s;
        } catch (JsonProcessingException e) {
            throw new ChartException("toYaml: " + e.getOriginalMessage());
        }
    }

    private sealed interface Node permits Text, If, Action {}

    private record Text(String text) implements Node {}

    private record If(List<String> path, boolean negated, List<Node> then, List<Node> otherwise) implements Node {}

    /** {@code .Values.x} or {@code toYaml .Values.x}, then {@code | quote}, {@code | indent N}, {@code | nindent N}. */
    private record Action(String template, int line, String text, List<String> path, boolean toYaml,
                          List<String[]> filters) implements Node {

        static Action parse(String template, Token t) {
            String[] stages = t.text.split("\\|");
            String[] head = stages[0].strip().split("\\s+");
            boolean toYaml = head.length == 2 && head[0].equals("toYaml");
            if (!(head.length == 1 || toYaml)) {
                throw new ChartException(template + ":" + t.line + ": {{ " + t.text + " }} (expected: .Values.x or "
                        + "toYaml .Values.x, then | quote, | indent N or | nindent N)");
            }
            List<String> path = ChartTemplate.path(template, t.line, toYaml ? head[1] : head[0]);
            List<String[]> filters = new ArrayList<>();
            for (int k = 1; k < stages.length; k++) {
                String[] f = stages[k].strip().split("\\s+");
                boolean ok = (f.length == 1 && f[0].equals("quote"))
                        || (f.length == 2 && (f[0].equals("indent") || f[0].equals("nindent")) && f[1].matches("\\d+"));
                if (!ok) {
                    throw new ChartException(template + ":" + t.line + ": | " + stages[k].strip()
                            + " (expected: quote, indent N or nindent N)");
                }
                filters.add(f);
            }
            return new Action(template, t.line, t.text, path, toYaml, List.copyOf(filters));
        }

        String evaluate(Map<String, Object> values) {
            Object v = lookup(values, path);
            String where = template + ":" + line + ": .Values." + String.join(".", path);
            String s;
            if (toYaml) {
                s = ChartTemplate.toYaml(v);
            } else if (v == null) {
                throw new ChartException(where + ": no such value (expected: a value in values.yaml, -f or --set)");
            } else if (v instanceof Map || v instanceof List) {
                throw new ChartException(where + ": " + v + " (expected: a string, number or boolean; use toYaml)");
            } else {
                s = String.valueOf(v);
            }
            for (String[] f : filters) {
                switch (f[0]) {
                    case "quote" -> s = quote(s);
                    case "indent" -> s = indent(s, Integer.parseInt(f[1]));
                    default -> s = "\n" + indent(s, Integer.parseInt(f[1]));
                }
            }
            return s;
        }

        private static String indent(String s, int n) {
            String pad = " ".repeat(n);
            return pad + s.replace("\n", "\n" + pad);
        }

        /** Go's {@code strconv.Quote} for the characters YAML cares about. */
        private static String quote(String s) {
            StringBuilder b = new StringBuilder("\"");
            for (char c : s.toCharArray()) {
                switch (c) {
                    case '"' -> b.append("\\\"");
                    case '\\' -> b.append("\\\\");
                    case '\n' -> b.append("\\n");
                    case '\t' -> b.append("\\t");
                    default -> b.append(c);
                }
            }
            return b.append('"').toString();
        }
    }
}
