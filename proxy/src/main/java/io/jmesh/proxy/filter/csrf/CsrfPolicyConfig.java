package io.jmesh.proxy.filter.csrf;

import java.util.ArrayList;
import java.util.List;

import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.extensions.filters.http.csrf.v3.CsrfPolicy;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.FractionalPercents;
import io.jmesh.proxy.router.StringMatch;

/**
 * A parsed {@link CsrfPolicy}: {@code filter_enabled} (required) and {@code shadow_enabled} as their
 * {@code default_value} percentages, and the {@code additional_origins} matchers. Immutable, thread-safe.
 */
final class CsrfPolicyConfig {

    private final int enabledNumerator;
    private final int enabledDenominator;
    private final int shadowNumerator;
    private final int shadowDenominator;
    private final List<StringMatch> additionalOrigins;

    CsrfPolicyConfig(CsrfPolicy p) throws ConfigException {
        if (!p.hasFilterEnabled()) {
            throw new ConfigException("filter_enabled: unset (expected: a RuntimeFractionalPercent)");
        }
        int[] e = percent(p.getFilterEnabled(), "filter_enabled");
        enabledNumerator = e[0];
        enabledDenominator = e[1];
        int[] s = p.hasShadowEnabled() ? percent(p.getShadowEnabled(), "shadow_enabled") : new int[] {0, 100};
        shadowNumerator = s[0];
        shadowDenominator = s[1];
        List<StringMatch> origins = new ArrayList<>();
        for (int i = 0; i < p.getAdditionalOriginsCount(); i++) {
            origins.add(StringMatch.from(p.getAdditionalOrigins(i), "additional_origins[" + i + "]"));
        }
        additionalOrigins = List.copyOf(origins);
    }

    private static int[] percent(RuntimeFractionalPercent r, String path) throws ConfigException {
        if (!r.hasDefaultValue()) {
            throw new ConfigException(path + ".default_value: unset (expected: a FractionalPercent)");
        }
        int d = FractionalPercents.denominator(r.getDefaultValue(), path + ".default_value.denominator");
        return new int[] {r.getDefaultValue().getNumerator(), d};
    }

    /** Rolls {@code filter_enabled} for one request. */
    boolean enabled() {
        return FractionalPercents.roll(enabledNumerator, enabledDenominator);
    }

    /** Rolls {@code shadow_enabled} for one request. */
    boolean shadowEnabled() {
        return FractionalPercents.roll(shadowNumerator, shadowDenominator);
    }

    /** Whether {@code origin} (host[:port]) matches an additional origin. */
    boolean additionalOrigin(String origin) {
        for (StringMatch m : additionalOrigins) {
            if (m.matches(origin)) {
                return true;
            }
        }
        return false;
    }
}
