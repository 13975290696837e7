package io.jmesh.proxy.upstream;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.jmesh.proxy.config.ConfigException;

/** Validates a cluster's {@code lb_policy} and its LB config into a {@link LoadBalancer.Factory}. */
final class LoadBalancers {

    private static final String EXPECTED = "ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH or MAGLEV";

    private LoadBalancers() {
    }

    static LoadBalancer.Factory factory(Cluster c, boolean originalDst) throws ConfigException {
        return factory(c, originalDst, System::nanoTime);
    }

    /** As {@link #factory(Cluster, boolean)}, with slow start timed by {@code clock} (nanoseconds). */
    static LoadBalancer.Factory factory(Cluster c, boolean originalDst, java.util.function.LongSupplier clock)
            throws ConfigException {
        if (c.hasLoadBalancingPolicy()) {
            throw new ConfigException("load_balancing_policy: set (expected: unset; use lb_policy " + EXPECTED + ')');
        }
        if (c.hasLbSubsetConfig() && c.getLbSubsetConfig().getSubsetSelectorsCount() > 0) {
            throw new ConfigException("lb_subset_config.subset_selectors: " + c.getLbSubsetConfig()
                                                                               .getSubsetSelectorsCount()
                                      + " selectors (expected: none; subset load balancing is not supported)");
        }
        Cluster.LbPolicy policy = c.getLbPolicy();
        if (originalDst) {
            if (policy != Cluster.LbPolicy.CLUSTER_PROVIDED && policy != Cluster.LbPolicy.ROUND_ROBIN) {
                throw new ConfigException("lb_policy: " + policy + " (expected: CLUSTER_PROVIDED for an ORIGINAL_DST "
                                          + "cluster)");
            }
            return RoundRobinLoadBalancer::new;
        }
        switch (policy) {
            case ROUND_ROBIN:
                return SlowStartLoadBalancer.wrap(RoundRobinLoadBalancer::new, c.hasRoundRobinLbConfig()
                        && c.getRoundRobinLbConfig().hasSlowStartConfig() ? SlowStartLoadBalancer.config(
                        c.getRoundRobinLbConfig().getSlowStartConfig(), "round_robin_lb_config.slow_start_config",
                        clock) : null);
            case RANDOM:
                return RandomLoadBalancer::new;
            case LEAST_REQUEST: {
                int choiceCount = 2;
                double bias = 1.0;
                if (c.hasLeastRequestLbConfig()) {
                    var lr = c.getLeastRequestLbConfig();
                    if (lr.hasChoiceCount()) {
                        choiceCount = lr.getChoiceCount().getValue();
                        if (choiceCount < 2 || choiceCount > 100) {
                            throw new ConfigException("least_request_lb_config.choice_count: "
                                                      + Integer.toUnsignedString(choiceCount) + " (expected: 2..100)");
                        }
                    }
                    if (lr.hasActiveRequestBias()) {
                        bias = lr.getActiveRequestBias().getDefaultValue();
                        if (!(bias >= 0) || Double.isInfinite(bias)) {
                            throw new ConfigException("least_request_lb_config.active_request_bias.default_value: "
                                                      + bias + " (expected: >= 0)");
                        }
                    }
                }
                final int n = choiceCount;
                final double b = bias;
                SlowStartLoadBalancer.Config ss = c.hasLeastRequestLbConfig()
                        && c.getLeastRequestLbConfig().hasSlowStartConfig() ? SlowStartLoadBalancer.config(
                        c.getLeastRequestLbConfig().getSlowStartConfig(), "least_request_lb_config.slow_start_config",
                        clock) : null;
                return SlowStartLoadBalancer.wrap(
                        (hosts, weights) -> new LeastRequestLoadBalancer(hosts, weights, n, b), ss);
            }
            case RING_HASH: {
                long min = RingHashLoadBalancer.DEFAULT_MIN_RING_SIZE;
                long max = RingHashLoadBalancer.DEFAULT_MAX_RING_SIZE;
                if (c.hasRingHashLbConfig()) {
                    var rh = c.getRingHashLbConfig();
                    if (rh.getHashFunction() != Cluster.RingHashLbConfig.HashFunction.XX_HASH) {
                        throw new ConfigException("ring_hash_lb_config.hash_function: " + rh.getHashFunction()
                                                  + " (expected: XX_HASH)");
                    }
                    if (rh.hasMinimumRingSize()) {
                        min = rh.getMinimumRingSize().getValue();
                    }
                    if (rh.hasMaximumRingSize()) {
                        max = rh.getMaximumRingSize().getValue();
                    }
                    if (min < 1 || min > RingHashLoadBalancer.DEFAULT_MAX_RING_SIZE) {
                        throw new ConfigException("ring_hash_lb_config.minimum_ring_size: " + Long.toUnsignedString(min)
                                                  + " (expected: 1.." + RingHashLoadBalancer.DEFAULT_MAX_RING_SIZE + ')');
                    }
                    if (max < min || max > RingHashLoadBalancer.DEFAULT_MAX_RING_SIZE) {
                        throw new ConfigException("ring_hash_lb_config.maximum_ring_size: " + Long.toUnsignedString(max)
                                                  + " (expected: " + min + ".."
                                                  + RingHashLoadBalancer.DEFAULT_MAX_RING_SIZE + ')');
                    }
                }
                final long minSize = min;
                final long maxSize = max;
                return (hosts, weights) -> new RingHashLoadBalancer(hosts, weights, minSize, maxSize);
            }
            case MAGLEV: {
                long size = MaglevLoadBalancer.DEFAULT_TABLE_SIZE;
                if (c.hasMaglevLbConfig() && c.getMaglevLbConfig().hasTableSize()) {
                    size = c.getMaglevLbConfig().getTableSize().getValue();
                    if (size < 2 || size > MaglevLoadBalancer.MAX_TABLE_SIZE || !isPrime(size)) {
                        throw new ConfigException("maglev_lb_config.table_size: " + Long.toUnsignedString(size)
                                                  + " (expected: a prime number up to "
                                                  + MaglevLoadBalancer.MAX_TABLE_SIZE + ')');
                    }
                }
                final int tableSize = (int) size;
                return (hosts, weights) -> new MaglevLoadBalancer(hosts, weights, tableSize);
            }
            default:
                throw new ConfigException("lb_policy: " + (policy == Cluster.LbPolicy.UNRECOGNIZED
                                                           ? String.valueOf(c.getLbPolicyValue()) : policy.name())
                                          + " (expected: " + EXPECTED + ')');
        }
    }

    static boolean isPrime(long n) {
        if (n < 2) {
            return false;
        }
        for (long d = 2; d * d <= n; d++) {
            if (n % d == 0) {
                return false;
            }
        }
        return true;
    }
}
