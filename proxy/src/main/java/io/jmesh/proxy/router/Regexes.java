package io.jmesh.proxy.router;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.jmesh.proxy.config.ConfigException;

/** Compiles Envoy's RE2 regexes with {@link java.util.regex}, reporting errors with their path. */
public final class Regexes {

    private Regexes() {}

    static Pattern compile(RegexMatcher matcher, String path) throws ConfigException {
        return compile(matcher.getRegex(), path + ".regex");
    }

    static Pattern compile(String regex, String path) throws ConfigException {
        if (regex.isEmpty()) {
            throw new ConfigException(path + ": \"\" (expected: a non-empty regular expression)");
        }
        try {
            return Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new ConfigException(path + ": " + regex + " (expected: a valid regular expression: "
                                      + e.getDescription() + ')');
        }
    }

    /** A compiled {@code RegexMatchAndSubstitute}: every match replaced, RE2 {@code \N} groups. */
    public static final class Substitution {
        private final Pattern pattern;
        private final String replacement;

        private Substitution(Pattern pattern, String replacement) {
            this.pattern = pattern;
            this.replacement = replacement;
        }

        /** Compiles {@code proto}; {@code path} prefixes error messages. */
        public static Substitution from(RegexMatchAndSubstitute proto, String path) throws ConfigException {
            if (!proto.hasPattern()) {
                throw new ConfigException(path + ".pattern: null (expected: a regex)");
            }
            final Pattern p = compile(proto.getPattern(), path + ".pattern");
            final String sub = proto.getSubstitution();
            final StringBuilder b = new StringBuilder(sub.length() + 4);
            for (int i = 0; i < sub.length(); i++) {
                final char c = sub.charAt(i);
                if (c == '\\' && i + 1 < sub.length()) {
                    final char n = sub.charAt(++i);
                    if (n >= '0' && n <= '9') {
                        if (n - '0' > p.matcher("").groupCount()) {
                            throw new ConfigException(path + ".substitution: " + sub
                                                      + " (expected: groups up to \\"
                                                      + p.matcher("").groupCount() + ')');
                        }
                        b.append('$').append(n);
                    } else {
                        b.append(Matcher.quoteReplacement(String.valueOf(n)));
                    }
                } else if (c == '$' || c == '\\') {
                    b.append('\\').append(c);
                } else {
                    b.append(c);
                }
            }
            return new Substitution(p, b.toString());
        }

        /** {@code input} with every match of the pattern replaced. */
        public String apply(String input) {
            return pattern.matcher(input).replaceAll(replacement);
        }
    }
}
