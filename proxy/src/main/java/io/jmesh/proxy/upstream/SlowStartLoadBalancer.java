package io.jmesh.proxy.upstream;

import java.util.List;
import java.util.function.LongSupplier;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.jmesh.proxy.config.ConfigException;

/**
 * Envoy's slow start mode ({@code slow_start_config} of {@code round_robin_lb_config} or
 * {@code least_request_lb_config}): while a host is within {@code slow_start_window} of joining the cluster, its
 * weight is {@code weight * max(min_weight_percent, time_factor ^ (1 / aggression))} with
 * {@code time_factor = max(seconds since it joined, 1) / window seconds}. A host joins when the balancer first sees it
 * healthy (a host carried over by an EDS update keeps its time; a removed and re-added host starts again). Weights
 * are recomputed at most once per second of the clock while any host ramps; the inner balancer (round robin or least
 * request) is rebuilt over them. Thread-safe: the current inner balancer is one volatile reference, and a racing
 * rebuild builds the same weights.
 */
final class SlowStartLoadBalancer extends LoadBalancer {

    /** Weights are scaled by this much so that a ramping host's fraction keeps three digits. */
    static final int SCALE = 1000;
    private static final long SECOND = 1_000_000_000L;

    /** {@code slow_start_config} validated; {@code clock} gives nanoseconds. */
    record Config(long windowNanos, double aggression, double minWeightPercent, LongSupplier clock) {}

    private final int[] weights;
    private final Factory inner;
    private final Config config;
    private volatile Built built;

    private record Built(long second, boolean ramping, int[] weights, LoadBalancer balancer) {}

    SlowStartLoadBalancer(List<Host> hosts, int[] weights, Factory inner, Config config) {
        super(hosts);
        this.weights = weights;
        this.inner = inner;
        this.config = config;
        long now = config.clock().getAsLong();
        for (Host h : hosts) {
            h.joinedAt(now);
        }
        this.built = build(now);
    }

    /**
     * Parses {@code slow_start_config} at {@code path}; null when it is unset or its window is 0 (no slow start, as
     * in Envoy).
     */
    static Config config(Cluster.SlowStartConfig ss, String path, LongSupplier clock) throws ConfigException {
        if (!ss.hasSlowStartWindow()) {
            return null;
        }
        var w = ss.getSlowStartWindow();
        if (w.getSeconds() < 0 || w.getNanos() < 0) {
            throw new ConfigException(path + ".slow_start_window: " + w.getSeconds() + "s (expected: >= 0)");
        }
        long window = w.getSeconds() * SECOND + w.getNanos();
        if (window == 0) {
            return null;
        }
        double aggression = ss.hasAggression() ? ss.getAggression().getDefaultValue() : 1.0;
        if (!(aggression > 0) || Double.isInfinite(aggression)) {
            throw new ConfigException(path + ".aggression.default_value: " + aggression + " (expected: > 0)");
        }
        double min = ss.hasMinWeightPercent() ? ss.getMinWeightPercent().getValue() : 10.0;
        if (!(min >= 0 && min <= 100)) {
            throw new ConfigException(path + ".min_weight_percent.value: " + min + " (expected: 0..100)");
        }
        return new Config(window, aggression, min, clock);
    }

    /** The factory of {@code inner} with slow start per {@code config}; {@code inner} itself when it is null. */
    static Factory wrap(Factory inner, Config config) {
        return config == null ? inner : (hosts, weights) -> new SlowStartLoadBalancer(hosts, weights, inner, config);
    }

    private Built build(long now) {
        int[] w = new int[weights.length];
        boolean ramping = false;
        for (int i = 0; i < w.length; i++) {
            long since = now - hosts.get(i).joinedAt();
            double factor = 1.0;
            if (since < config.windowNanos()) {
                ramping = true;
                double timeFactor = (double) Math.max(since, SECOND) / config.windowNanos();
                factor = Math.max(config.minWeightPercent() / 100.0,
                        Math.pow(Math.min(1.0, timeFactor), 1.0 / config.aggression()));
            }
            w[i] = (int) Math.max(1, Math.min(Integer.MAX_VALUE, Math.round((double) weights[i] * SCALE * factor)));
        }
        return new Built(Math.floorDiv(now, SECOND), ramping, w, inner.create(hosts, w));
    }

    /** The weights the inner balancer uses now (scaled by {@link #SCALE}); for tests. */
    int[] currentWeights() {
        return current().weights().clone();
    }

    private Built current() {
        Built b = built;
        if (b.ramping()) {
            long now = config.clock().getAsLong();
            if (Math.floorDiv(now, SECOND) != b.second()) {
                b = build(now);
                built = b;
            }
        }
        return b;
    }

    @Override
    Host choose(long hash, boolean hasHash, int attempt) {
        return current().balancer().choose(hash, hasHash, attempt);
    }
}
