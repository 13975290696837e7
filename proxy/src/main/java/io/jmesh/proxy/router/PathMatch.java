package io.jmesh.proxy.router;

import java.util.regex.Pattern;

import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.jmesh.proxy.config.ConfigException;

/** The compiled path part of a {@code RouteMatch}, against the path without its query. */
final class PathMatch {

    enum Kind { PREFIX, PATH, REGEX, SEPARATED_PREFIX }

    final Kind kind;
    private final String value;
    private final boolean ignoreCase;
    private final Pattern pattern;

    private PathMatch(Kind kind, String value, boolean ignoreCase, Pattern pattern) {
        this.kind = kind;
        this.value = value;
        this.ignoreCase = ignoreCase;
        this.pattern = pattern;
    }

    static PathMatch from(RouteMatch m, String path) throws ConfigException {
        final boolean ic = m.hasCaseSensitive() && !m.getCaseSensitive().getValue();
        switch (m.getPathSpecifierCase()) {
            case PREFIX:
                return new PathMatch(Kind.PREFIX, m.getPrefix(), ic, null);
            case PATH:
                return new PathMatch(Kind.PATH, m.getPath(), ic, null);
            case SAFE_REGEX:
                // case_sensitive does not apply to safe_regex in Envoy.
                return new PathMatch(Kind.REGEX, m.getSafeRegex().getRegex(), false,
                                     Regexes.compile(m.getSafeRegex(), path + ".safe_regex"));
            case PATH_SEPARATED_PREFIX: {
                final String p = m.getPathSeparatedPrefix();
                if (p.isEmpty() || p.charAt(0) != '/' || p.endsWith("/") || p.indexOf('?') >= 0
                    || p.indexOf('#') >= 0) {
                    throw new ConfigException(path + ".path_separated_prefix: " + p
                                              + " (expected: starts with '/', does not end with '/', no '?' or '#')");
                }
                return new PathMatch(Kind.SEPARATED_PREFIX, p, ic, null);
            }
            case PATHSPECIFIER_NOT_SET:
                throw new ConfigException(path + ".path_specifier: null"
                                          + " (expected: prefix, path, safe_regex or path_separated_prefix)");
            default:
                throw new ConfigException(path + "." + m.getPathSpecifierCase().name().toLowerCase(java.util.Locale.ROOT)
                                          + ": " + m.getPathSpecifierCase()
                                          + " (expected: prefix, path, safe_regex or path_separated_prefix)");
        }
    }

    boolean matches(String path) {
        final int len = value.length();
        switch (kind) {
            case PREFIX:
                return path.regionMatches(ignoreCase, 0, value, 0, len);
            case PATH:
                return path.length() == len && path.regionMatches(ignoreCase, 0, value, 0, len);
            case REGEX:
                return pattern.matcher(path).matches();
            case SEPARATED_PREFIX:
                return (path.length() == len || path.length() > len && path.charAt(len) == '/')
                       && path.regionMatches(ignoreCase, 0, value, 0, len);
            default:
                throw new AssertionError(kind);
        }
    }

    /** The length of the part of {@code path} (no query) that {@code prefix_rewrite} replaces. */
    int matchedLength(String path) {
        return kind == Kind.PREFIX || kind == Kind.SEPARATED_PREFIX ? value.length() : path.length();
    }
}
