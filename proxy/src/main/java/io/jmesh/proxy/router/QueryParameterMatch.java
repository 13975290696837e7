package io.jmesh.proxy.router;

import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.jmesh.proxy.config.ConfigException;

/** A compiled {@code QueryParameterMatcher}: the first value of the parameter, percent-decoded. */
final class QueryParameterMatch {

    private final String name;
    private final StringMatch string;
    private final boolean present;

    private QueryParameterMatch(String name, StringMatch string, boolean present) {
        this.name = name;
        this.string = string;
        this.present = present;
    }

    static QueryParameterMatch from(QueryParameterMatcher q, String path) throws ConfigException {
        if (q.getName().isEmpty()) {
            throw new ConfigException(path + ".name: \"\" (expected: a query parameter name)");
        }
        switch (q.getQueryParameterMatchSpecifierCase()) {
            case STRING_MATCH:
                return new QueryParameterMatch(q.getName(), StringMatch.from(q.getStringMatch(),
                                                                              path + ".string_match"), true);
            case PRESENT_MATCH:
                return new QueryParameterMatch(q.getName(), null, q.getPresentMatch());
            default:
                // Envoy treats a matcher without a specifier as a presence check.
                return new QueryParameterMatch(q.getName(), null, true);
        }
    }

    boolean matches(RequestView request) {
        final String value = request.firstQueryValue(name);
        if (value == null) {
            return false;
        }
        if (string == null) {
            return present;
        }
        return string.matches(value);
    }
}
