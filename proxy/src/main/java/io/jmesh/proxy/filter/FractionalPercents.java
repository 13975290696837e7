package io.jmesh.proxy.filter;

import java.util.concurrent.ThreadLocalRandom;

import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.jmesh.proxy.config.ConfigException;

/** Envoy's {@code FractionalPercent} for filters: validated once, rolled per request. */
public final class FractionalPercents {

    private FractionalPercents() {}

    /** The denominator as a number (100, 10 000 or 1 000 000); {@code path} names the field in errors. */
    public static int denominator(FractionalPercent p, String path) throws ConfigException {
        switch (p.getDenominator()) {
            case HUNDRED:
                return 100;
            case TEN_THOUSAND:
                return 10_000;
            case MILLION:
                return 1_000_000;
            default:
                throw new ConfigException(path + ": " + p.getDenominatorValue()
                        + " (expected: HUNDRED, TEN_THOUSAND or MILLION)");
        }
    }

    /** Rolls as Envoy does: a uniform draw in {@code [0, denominator)} below {@code numerator}. Thread-safe. */
    public static boolean roll(int numerator, int denominator) {
        return numerator > 0
                && (numerator >= denominator || ThreadLocalRandom.current().nextInt(denominator) < numerator);
    }
}
