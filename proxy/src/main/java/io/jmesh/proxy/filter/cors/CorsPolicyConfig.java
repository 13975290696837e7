package io.jmesh.proxy.filter.cors;

import java.util.ArrayList;
import java.util.List;

import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.FractionalPercents;
import io.jmesh.proxy.router.StringMatch;

/**
 * The validated form of a route's {@link CorsPolicy}
 * (<a href="https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/http/cors/v3/cors.proto">cors.proto</a>).
 * Immutable and thread-safe. {@code shadow_enabled} and {@code allow_private_network_access} are rejected.
 */
final class CorsPolicyConfig {

    private final StringMatch[] allowOrigins;
    final String allowMethods;
    final String allowHeaders;
    final String exposeHeaders;
    final String maxAge;
    final boolean allowCredentials;
    final boolean forwardNotMatchingPreflights;
    private final int enabledNumerator;
    private final int enabledDenominator;

    CorsPolicyConfig(CorsPolicy p) throws ConfigException {
        List<StringMatch> origins = new ArrayList<>();
        for (int i = 0; i < p.getAllowOriginStringMatchCount(); i++) {
            origins.add(StringMatch.from(p.getAllowOriginStringMatch(i), "allow_origin_string_match[" + i + "]"));
        }
        allowOrigins = origins.toArray(new StringMatch[0]);
        allowMethods = p.getAllowMethods();
        allowHeaders = p.getAllowHeaders();
        exposeHeaders = p.getExposeHeaders();
        maxAge = p.getMaxAge();
        allowCredentials = p.hasAllowCredentials() && p.getAllowCredentials().getValue();
        forwardNotMatchingPreflights = !p.hasForwardNotMatchingPreflights()
                || p.getForwardNotMatchingPreflights().getValue();
        if (p.hasShadowEnabled()) {
            throw new ConfigException("shadow_enabled: set (expected: unset)");
        }
        if (p.hasAllowPrivateNetworkAccess() && p.getAllowPrivateNetworkAccess().getValue()) {
            throw new ConfigException("allow_private_network_access: true (expected: false)");
        }
        if (p.hasFilterEnabled()) {
            FractionalPercent f = p.getFilterEnabled().getDefaultValue();
            enabledNumerator = f.getNumerator();
            enabledDenominator = FractionalPercents.denominator(f, "filter_enabled.default_value.denominator");
        } else {
            enabledNumerator = 1;
            enabledDenominator = 1;
        }
    }

    /** {@code filter_enabled}, rolled per request; enabled when unset. */
    boolean enabled() {
        return FractionalPercents.roll(enabledNumerator, enabledDenominator);
    }

    /** Whether {@code origin} matches one of {@code allow_origin_string_match}. */
    boolean originAllowed(String origin) {
        for (StringMatch m : allowOrigins) {
            if (m.matches(origin)) {
                return true;
            }
        }
        return false;
    }
}
