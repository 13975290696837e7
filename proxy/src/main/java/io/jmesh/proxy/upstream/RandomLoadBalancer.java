package io.jmesh.proxy.upstream;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/** {@code RANDOM}: a uniformly random host, or with different weights a host drawn with probability weight/sum. */
final class RandomLoadBalancer extends LoadBalancer {

    private final WeightedPicker picker;

    RandomLoadBalancer(List<Host> hosts, int[] weights) {
        super(hosts);
        this.picker = new WeightedPicker(weights);
    }

    @Override
    Host choose(long hash, boolean hasHash, int attempt) {
        return hosts.get(picker.pick(ThreadLocalRandom.current()));
    }

    /** Draws an index with probability weight/sum: a binary search over cumulative weights. Immutable. */
    static final class WeightedPicker {
        private final long[] cumulative;
        private final boolean uniform;

        WeightedPicker(int[] weights) {
            uniform = allEqual(weights);
            cumulative = new long[weights.length];
            long acc = 0;
            for (int i = 0; i < weights.length; i++) {
                acc += weights[i];
                cumulative[i] = acc;
            }
        }

        int pick(ThreadLocalRandom random) {
            int n = cumulative.length;
            if (uniform) {
                return random.nextInt(n);
            }
            long r = random.nextLong(cumulative[n - 1]);
            int lo = 0;
            int hi = n - 1;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (cumulative[mid] > r) {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            return lo;
        }
    }
}
