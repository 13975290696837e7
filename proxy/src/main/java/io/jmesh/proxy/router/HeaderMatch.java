package io.jmesh.proxy.router;

import java.util.Locale;

import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.jmesh.proxy.config.ConfigException;

/**
 * A compiled {@code HeaderMatcher}. Multiple values of a header are joined with {@code ','}; an
 * absent header matches only {@code present_match: false} (or, inverted, {@code present_match:
 * true}), unless {@code treat_missing_header_as_empty} is set, as in Envoy.
 */
public final class HeaderMatch {

    private enum Kind { STRING, PRESENT, RANGE }

    private final String name;
    private final Kind kind;
    private final StringMatch string;
    private final boolean present;
    private final long rangeStart;
    private final long rangeEnd;
    private final boolean invert;
    private final boolean missingAsEmpty;

    private HeaderMatch(String name, Kind kind, StringMatch string, boolean present, long rangeStart,
                        long rangeEnd, boolean invert, boolean missingAsEmpty) {
        this.name = name;
        this.kind = kind;
        this.string = string;
        this.present = present;
        this.rangeStart = rangeStart;
        this.rangeEnd = rangeEnd;
        this.invert = invert;
        this.missingAsEmpty = missingAsEmpty;
    }

    @SuppressWarnings("deprecation") // legacy fields Envoy still honours
    /** Compiles {@code h}; {@code path} prefixes error messages. */
    public static HeaderMatch from(HeaderMatcher h, String path) throws ConfigException {
        final String name = h.getName().toLowerCase(Locale.ROOT);
        if (name.isEmpty()) {
            throw new ConfigException(path + ".name: \"\" (expected: a header name)");
        }
        if ("host".equals(name)) {
            // Envoy keeps Host as :authority.
            return from(h.toBuilder().setName(":authority").build(), path);
        }
        Kind kind = Kind.STRING;
        StringMatch string = null;
        boolean present = false;
        long start = 0;
        long end = 0;
        switch (h.getHeaderMatchSpecifierCase()) {
            case EXACT_MATCH:
                string = new StringMatch(StringMatch.Kind.EXACT, h.getExactMatch(), false, null);
                break;
            case PREFIX_MATCH:
                string = new StringMatch(StringMatch.Kind.PREFIX,
                                         StringMatch.nonEmpty(h.getPrefixMatch(), path + ".prefix_match"),
                                         false, null);
                break;
            case SUFFIX_MATCH:
                string = new StringMatch(StringMatch.Kind.SUFFIX,
                                         StringMatch.nonEmpty(h.getSuffixMatch(), path + ".suffix_match"),
                                         false, null);
                break;
            case CONTAINS_MATCH:
                string = new StringMatch(StringMatch.Kind.CONTAINS,
                                         StringMatch.nonEmpty(h.getContainsMatch(), path + ".contains_match"),
                                         false, null);
                break;
            case SAFE_REGEX_MATCH:
                string = StringMatch.regex(h.getSafeRegexMatch().getRegex(), path + ".safe_regex_match.regex");
                break;
            case STRING_MATCH:
                string = StringMatch.from(h.getStringMatch(), path + ".string_match");
                break;
            case PRESENT_MATCH:
                kind = Kind.PRESENT;
                present = h.getPresentMatch();
                break;
            case RANGE_MATCH:
                kind = Kind.RANGE;
                start = h.getRangeMatch().getStart();
                end = h.getRangeMatch().getEnd();
                if (start >= end) {
                    throw new ConfigException(path + ".range_match: [" + start + ", " + end
                                              + ") (expected: start < end)");
                }
                break;
            case HEADERMATCHSPECIFIER_NOT_SET:
                // Envoy: no specifier means "the header is present".
                kind = Kind.PRESENT;
                present = true;
                break;
            default:
                throw new ConfigException(path + ": " + h.getHeaderMatchSpecifierCase()
                                          + " (expected: string_match, present_match, range_match or a legacy"
                                          + " *_match field)");
        }
        return new HeaderMatch(name, kind, string, present, start, end, h.getInvertMatch(),
                               h.getTreatMissingHeaderAsEmpty());
    }

    boolean matches(RequestView request) {
        return matchesValue(request.header(name));
    }

    /** The header's name, lower case ({@code :authority} for {@code host}). */
    public String name() {
        return name;
    }

    /**
     * Whether a request whose header {@link #name()} has {@code value} (all values joined with {@code ','}, or null
     * when absent) matches.
     */
    /** Matches against {@code header}, which returns a header's joined values by lower-case name, or null. */
    boolean matches(java.util.function.Function<String, String> header) {
        return matchesValue(header.apply(name));
    }

    public boolean matchesValue(String value) {
        if (value == null) {
            if (!missingAsEmpty) {
                return invert ? kind == Kind.PRESENT && present : kind == Kind.PRESENT && !present;
            }
            value = "";
        }
        final boolean m;
        switch (kind) {
            case PRESENT:
                m = present;
                break;
            case RANGE:
                m = inRange(value);
                break;
            default:
                m = string.matches(value);
        }
        return m != invert;
    }

    private boolean inRange(String value) {
        try {
            final long v = Long.parseLong(value);
            return v >= rangeStart && v < rangeEnd;
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
