package io.jmesh.proxy.telemetry.tracing;

import java.util.List;

import io.envoyproxy.envoy.config.route.v3.Tracing;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.FractionalPercents;

/**
 * A route's {@code tracing} (Envoy's {@code RouteTracingImpl}): for requests on the route it replaces the
 * connection manager's {@code client_sampling}, {@code random_sampling} and {@code overall_sampling} (each field
 * left unset is 100%, as in Envoy, not the connection manager's value), and its {@code custom_tags} are added to the
 * span after the connection manager's, a tag of the same name replacing theirs. Immutable.
 */
public final class RouteTracing {

    /** Fractions in parts of 10000. */
    final int clientSampling;
    final int randomSampling;
    final int overallSampling;
    final List<HttpTracer.Tag> tags;

    private RouteTracing(int clientSampling, int randomSampling, int overallSampling, List<HttpTracer.Tag> tags) {
        this.clientSampling = clientSampling;
        this.randomSampling = randomSampling;
        this.overallSampling = overallSampling;
        this.tags = tags;
    }

    /** Validates a route's {@code tracing} at {@code path} (errors name {@code path.<field>}). */
    public static RouteTracing create(Tracing t, String path) throws ConfigException {
        return new RouteTracing(fraction(t.hasClientSampling(), t.getClientSampling(), path + ".client_sampling"),
                fraction(t.hasRandomSampling(), t.getRandomSampling(), path + ".random_sampling"),
                fraction(t.hasOverallSampling(), t.getOverallSampling(), path + ".overall_sampling"),
                HttpTracer.tags(t.getCustomTagsList(), path));
    }

    /** A FractionalPercent in parts of 10000; unset is 100%; a numerator above its denominator is 100%, as Envoy's. */
    private static int fraction(boolean present, FractionalPercent f, String path) throws ConfigException {
        if (!present) {
            return 10_000;
        }
        long denominator = FractionalPercents.denominator(f, path + ".denominator");
        return (int) (Math.min(f.getNumerator(), denominator) * 10_000L / denominator);
    }
}
