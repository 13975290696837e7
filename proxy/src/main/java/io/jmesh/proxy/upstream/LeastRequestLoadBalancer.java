package io.jmesh.proxy.upstream;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * {@code LEAST_REQUEST}: "power of N choices" over {@link Host#activeRequests()}
 * (<a href="https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/load_balancers#weighted-least-request">Envoy</a>).
 *
 * <p>With equal weights it draws {@code choice_count} (default 2) hosts at random and picks the one with the
 * fewest active requests, as Envoy does. With different weights Envoy switches to an EDF schedule over
 * {@code weight / (active_requests + 1)^active_request_bias}; we keep the lock-free P2C shape instead: the
 * {@code choice_count} candidates are drawn with probability weight/sum, and the one with the smallest
 * {@code active^bias / weight} wins (ties go to the first drawn). With no load this is exactly a weighted
 * random pick; under load, heavier hosts are allowed proportionally more requests in flight.
 */
final class LeastRequestLoadBalancer extends LoadBalancer {

    private final int[] weights;
    private final boolean weighted;
    private final int choiceCount;
    private final double bias;
    private final RandomLoadBalancer.WeightedPicker picker;

    LeastRequestLoadBalancer(List<Host> hosts, int[] weights, int choiceCount, double bias) {
        super(hosts);
        this.weights = weights;
        this.weighted = !allEqual(weights);
        this.choiceCount = choiceCount;
        this.bias = bias;
        this.picker = new RandomLoadBalancer.WeightedPicker(weights);
    }

    @Override
    Host choose(long hash, boolean hasHash, int attempt) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        int best = picker.pick(random);
        if (hosts.size() == 1) {
            return hosts.get(0);
        }
        for (int c = 1; c < choiceCount; c++) {
            int candidate = picker.pick(random);
            if (better(candidate, best)) {
                best = candidate;
            }
        }
        return hosts.get(best);
    }

    private boolean better(int a, int b) {
        int activeA = hosts.get(a).activeRequests();
        int activeB = hosts.get(b).activeRequests();
        if (!weighted) {
            return activeA < activeB;
        }
        return load(a, activeA) < load(b, activeB);
    }

    private double load(int i, int active) {
        double n = Math.max(0, active);
        return (bias == 1.0 ? n : Math.pow(n, bias)) / weights[i];
    }
}
