package io.jmesh.proxy.router;

import java.util.regex.Pattern;

import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.jmesh.proxy.config.ConfigException;

/** A compiled {@code envoy.type.matcher.v3.StringMatcher}; immutable and thread-safe. */
public final class StringMatch {

    enum Kind { EXACT, PREFIX, SUFFIX, CONTAINS, REGEX }

    private final Kind kind;
    private final String value;
    private final boolean ignoreCase;
    private final Pattern pattern;

    StringMatch(Kind kind, String value, boolean ignoreCase, Pattern pattern) {
        this.kind = kind;
        this.value = value;
        this.ignoreCase = ignoreCase;
        this.pattern = pattern;
    }

    /** Compiles {@code m}; {@code path} prefixes error messages. */
    public static StringMatch from(StringMatcher m, String path) throws ConfigException {
        final boolean ic = m.getIgnoreCase();
        switch (m.getMatchPatternCase()) {
            case EXACT:
                return new StringMatch(Kind.EXACT, m.getExact(), ic, null);
            case PREFIX:
                return new StringMatch(Kind.PREFIX, nonEmpty(m.getPrefix(), path + ".prefix"), ic, null);
            case SUFFIX:
                return new StringMatch(Kind.SUFFIX, nonEmpty(m.getSuffix(), path + ".suffix"), ic, null);
            case CONTAINS:
                return new StringMatch(Kind.CONTAINS, nonEmpty(m.getContains(), path + ".contains"), ic, null);
            case SAFE_REGEX:
                return regex(m.getSafeRegex().getRegex(), path + ".safe_regex.regex");
            case CUSTOM:
                throw new ConfigException(path + ".custom: " + m.getCustom().getName()
                                          + " (expected: exact, prefix, suffix, contains or safe_regex)");
            default:
                throw new ConfigException(path + ".match_pattern: null"
                                          + " (expected: exact, prefix, suffix, contains or safe_regex)");
        }
    }

    static StringMatch regex(String regex, String path) throws ConfigException {
        return new StringMatch(Kind.REGEX, regex, false, Regexes.compile(regex, path));
    }

    static String nonEmpty(String v, String path) throws ConfigException {
        if (v.isEmpty()) {
            throw new ConfigException(path + ": \"\" (expected: non-empty)");
        }
        return v;
    }

    /** Whether {@code s} matches; {@code s} must not be null. */
    public boolean matches(String s) {
        switch (kind) {
            case EXACT:
                return ignoreCase ? s.equalsIgnoreCase(value) : s.equals(value);
            case PREFIX:
                return s.regionMatches(ignoreCase, 0, value, 0, value.length());
            case SUFFIX:
                return s.length() >= value.length()
                       && s.regionMatches(ignoreCase, s.length() - value.length(), value, 0, value.length());
            case CONTAINS:
                if (!ignoreCase) {
                    return s.contains(value);
                }
                for (int i = 0, last = s.length() - value.length(); i <= last; i++) {
                    if (s.regionMatches(true, i, value, 0, value.length())) {
                        return true;
                    }
                }
                return false;
            case REGEX:
                return pattern.matcher(s).matches();
            default:
                throw new AssertionError(kind);
        }
    }
}
