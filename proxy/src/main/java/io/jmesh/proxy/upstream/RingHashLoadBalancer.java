package io.jmesh.proxy.upstream;

import io.jmesh.proxy.internal.XxHash64;
import java.util.List;

/**
 * {@code RING_HASH}: Envoy's ketama-style consistent hash ring
 * (<a href="https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/load_balancers#ring-hash">Envoy</a>).
 *
 * <p>Construction follows Envoy's {@code RingHashLoadBalancer::Ring}: weights are normalized; the scale is
 * {@code min(ceil(min_weight * minimum_ring_size) / min_weight, maximum_ring_size)}; each host gets about
 * {@code scale * weight} entries, the i-th hashed as xxHash64 (seed 0) of {@code "<address>_<i>"} where
 * {@code <address>} is {@link Host#addressString()}. A request hash maps to the first entry whose hash is
 * greater or equal (unsigned), wrapping around. Removing one of N equal hosts moves only the keys that
 * mapped to its entries, about 1/N. Immutable.
 */
final class RingHashLoadBalancer extends LoadBalancer {

    static final long DEFAULT_MIN_RING_SIZE = 1024;
    static final long DEFAULT_MAX_RING_SIZE = 8 * 1024 * 1024;

    private final long[] ringHashes;
    private final int[] ringHosts;

    RingHashLoadBalancer(List<Host> hosts, int[] weights, long minRingSize, long maxRingSize) {
        super(hosts);
        int n = hosts.size();
        double total = sum(weights);
        double minNormalized = 1.0;
        for (int w : weights) {
            minNormalized = Math.min(minNormalized, w / total);
        }
        double scale = Math.min(Math.ceil(minNormalized * minRingSize) / minNormalized, (double) maxRingSize);
        int ringSize = (int) Math.ceil(scale);
        long[] hashes = new long[ringSize + n];
        int[] owners = new int[ringSize + n];
        int size = 0;
        double currentHashes = 0;
        double targetHashes = 0;
        for (int i = 0; i < n; i++) {
            String prefix = hosts.get(i).addressString() + '_';
            targetHashes += scale * (weights[i] / total);
            long k = 0;
            while (currentHashes < targetHashes && size < hashes.length) {
                hashes[size] = XxHash64.hash(prefix + k, 0);
                owners[size] = i;
                size++;
                k++;
                currentHashes++;
            }
        }
        ringHashes = java.util.Arrays.copyOf(hashes, size);
        ringHosts = java.util.Arrays.copyOf(owners, size);
        heapSort(ringHashes, ringHosts);
    }

    int ringSize() {
        return ringHashes.length;
    }

    @Override
    Host choose(long hash, boolean hasHash, int attempt) {
        int lo = 0;
        int hi = ringHashes.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(ringHashes[mid], hash) < 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return hosts.get(ringHosts[lo == ringHashes.length ? 0 : lo]);
    }

    /** Sorts {@code keys} (unsigned) and permutes {@code values} alongside; O(n log n), no allocation. */
    private static void heapSort(long[] keys, int[] values) {
        int n = keys.length;
        for (int i = n / 2 - 1; i >= 0; i--) {
            siftDown(keys, values, i, n);
        }
        for (int end = n - 1; end > 0; end--) {
            swap(keys, values, 0, end);
            siftDown(keys, values, 0, end);
        }
    }

    private static void siftDown(long[] keys, int[] values, int i, int n) {
        while (true) {
            int child = 2 * i + 1;
            if (child >= n) {
                return;
            }
            if (child + 1 < n && Long.compareUnsigned(keys[child + 1], keys[child]) > 0) {
                child++;
            }
            if (Long.compareUnsigned(keys[i], keys[child]) >= 0) {
                return;
            }
            swap(keys, values, i, child);
            i = child;
        }
    }

    private static void swap(long[] keys, int[] values, int a, int b) {
        long k = keys[a];
        keys[a] = keys[b];
        keys[b] = k;
        int v = values[a];
        values[a] = values[b];
        values[b] = v;
    }
}
