package io.jmesh.discovery.config;

/**
 * Makes the YAML reader see the same scalars as Go's YAML (go-yaml v2, which {@code sigs.k8s.io/yaml} and so istiod
 * and kubectl use) where the two disagree. One case today: inside a flow collection, a plain scalar ending in
 * {@code :} right before {@code ,}, {@code ]} or {@code }} ({@code addresses: [1.2.3.4, 001:db8::]}) is one string for
 * Go (a {@code :} ends a plain scalar only when a blank follows), while SnakeYAML reads {@code 001:db8:} as a mapping
 * key. {@link #normalize} quotes such scalars; every other character, and so every line number, is left as it was.
 * Stateless.
 */
final class GoYaml {

    private GoYaml() {}

    /** Returns {@code yaml} with flow scalars that end in {@code :} quoted; {@code yaml} itself when there is none. */
    static String normalize(String yaml) {
        if (yaml.indexOf(":,") < 0 && yaml.indexOf(":]") < 0 && yaml.indexOf(":}") < 0) {
            return yaml; // the common case: nothing to do
        }
        StringBuilder out = new StringBuilder(yaml.length() + 16);
        String[] lines = yaml.split("\n", -1);
        int depth = 0; // flow nesting carried across lines
        int blockScalarIndent = -1; // >= 0 while inside a literal or folded block scalar's content
        for (int li = 0; li < lines.length; li++) {
            String line = lines[li];
            if (li > 0) {
                out.append('\n');
            }
            int indent = indentOf(line);
            if (blockScalarIndent >= 0) {
                if (line.isBlank() || indent > blockScalarIndent) {
                    out.append(line);
                    continue;
                }
                blockScalarIndent = -1;
            }
            int i = 0;
            int n = line.length();
            boolean nodeStart = depth == 0; // at depth 0 a line starts a node (after indentation and "- ")
            while (i < n) {
                char c = line.charAt(i);
                if (depth == 0) {
                    if (c == ' ' || c == '\t') {
                        out.append(c);
                        i++;
                        continue;
                    }
                    if (c == '#' && (i == 0 || line.charAt(i - 1) == ' ' || line.charAt(i - 1) == '\t')) {
                        out.append(line, i, n);
                        break;
                    }
                    if (nodeStart && c == '-' && (i + 1 == n || line.charAt(i + 1) == ' ')) {
                        out.append(c);
                        i++;
                        continue; // a sequence entry: a node starts after it
                    }
                    if (nodeStart && (c == '[' || c == '{')) {
                        depth = 1;
                        out.append(c);
                        i++;
                        nodeStart = true;
                        continue;
                    }
                    if (nodeStart && (c == '|' || c == '>')) {
                        blockScalarIndent = indent;
                        out.append(line, i, n);
                        break;
                    }
                    if (c == '\'' || c == '"') {
                        int end = quotedEnd(line, i);
                        out.append(line, i, end);
                        i = end;
                        nodeStart = false;
                        continue;
                    }
                    // a plain scalar (a key or a value) up to ": " (a new node starts after it) or the line's end
                    int start = i;
                    while (i < n) {
                        char d = line.charAt(i);
                        if (d == ':' && (i + 1 == n || line.charAt(i + 1) == ' ' || line.charAt(i + 1) == '\t')) {
                            break;
                        }
                        if (d == '#' && i > start && (line.charAt(i - 1) == ' ' || line.charAt(i - 1) == '\t')) {
                            break;
                        }
                        i++;
                    }
                    out.append(line, start, i);
                    if (i < n && line.charAt(i) == ':') {
                        out.append(':');
                        i++;
                        nodeStart = true;
                    } else {
                        nodeStart = false;
                    }
                    continue;
                }
                // inside a flow collection
                if (c == '[' || c == '{') {
                    depth++;
                    out.append(c);
                    i++;
                } else if (c == ']' || c == '}') {
                    depth--;
                    out.append(c);
                    i++;
                    nodeStart = false;
                } else if (c == ',' || c == ' ' || c == '\t' || c == '?') {
                    out.append(c);
                    i++;
                } else if (c == ':' && (i + 1 == n || " \t,]}".indexOf(line.charAt(i + 1)) >= 0)) {
                    out.append(c); // a mapping's ": " (or an empty value before , ] })
                    i++;
                } else if (c == '#' && i > 0 && (line.charAt(i - 1) == ' ' || line.charAt(i - 1) == '\t')) {
                    out.append(line, i, n);
                    break;
                } else if (c == '\'' || c == '"') {
                    int end = quotedEnd(line, i);
                    out.append(line, i, end);
                    i = end;
                } else {
                    // a plain scalar, ended as Go ends it: at , [ ] { } or at ':' followed by a blank
                    int start = i;
                    while (i < n) {
                        char d = line.charAt(i);
                        if (",[]{}".indexOf(d) >= 0) {
                            break;
                        }
                        if (d == ':' && (i + 1 == n || line.charAt(i + 1) == ' ' || line.charAt(i + 1) == '\t')) {
                            break;
                        }
                        if (d == '#' && (line.charAt(i - 1) == ' ' || line.charAt(i - 1) == '\t')) {
                            break;
                        }
                        i++;
                    }
                    String scalar = line.substring(start, i);
                    String trimmed = scalar.stripTrailing();
                    if (trimmed.endsWith(":") && i < n && ",]}".indexOf(line.charAt(i)) >= 0) {
                        out.append('\'').append(trimmed.replace("'", "''")).append('\'')
                                .append(scalar, trimmed.length(), scalar.length());
                    } else {
                        out.append(scalar);
                    }
                }
            }
        }
        return out.toString();
    }

    private static int indentOf(String line) {
        int i = 0;
        while (i < line.length() && line.charAt(i) == ' ') {
            i++;
        }
        return i;
    }

    /** Returns the index after the quoted scalar starting at {@code start}, or the line's end if it goes on. */
    private static int quotedEnd(String line, int start) {
        char q = line.charAt(start);
        int i = start + 1;
        while (i < line.length()) {
            char c = line.charAt(i);
            if (q == '"' && c == '\\') {
                i += 2;
                continue;
            }
            if (c == q) {
                if (q == '\'' && i + 1 < line.length() && line.charAt(i + 1) == '\'') {
                    i += 2; // '' inside single quotes
                    continue;
                }
                return i + 1;
            }
            i++;
        }
        return line.length();
    }
}
