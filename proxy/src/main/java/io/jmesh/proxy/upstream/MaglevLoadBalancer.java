package io.jmesh.proxy.upstream;

import io.jmesh.proxy.internal.XxHash64;
import java.util.Arrays;
import java.util.List;

/**
 * {@code MAGLEV}: the lookup table of Google's Maglev paper, as Envoy builds it
 * (<a href="https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/load_balancers#maglev">Envoy</a>).
 *
 * <p>Each host has {@code offset = xxHash64(address, 0) mod M} and {@code skip = xxHash64(address, 1) mod (M-1) + 1}
 * ({@code address} is {@link Host#addressString()}, {@code M} the prime {@code table_size}, default
 * {@value #DEFAULT_TABLE_SIZE}); hosts take turns filling their next preferred free slot. With weights, a host
 * takes a turn only when its share so far is behind {@code iteration * weight / max_weight}, so the table
 * holds each host in proportion to its weight. A request hash maps to {@code table[hash mod M]} (unsigned).
 * Immutable.
 */
final class MaglevLoadBalancer extends LoadBalancer {

    static final long DEFAULT_TABLE_SIZE = 65537;
    static final long MAX_TABLE_SIZE = 5000011;

    private final int[] table;

    MaglevLoadBalancer(List<Host> hosts, int[] weights, int tableSize) {
        super(hosts);
        int n = hosts.size();
        long[] offset = new long[n];
        long[] skip = new long[n];
        long[] next = new long[n];
        long[] count = new long[n];
        double maxWeight = 0;
        for (int w : weights) {
            maxWeight = Math.max(maxWeight, w);
        }
        for (int i = 0; i < n; i++) {
            String key = hosts.get(i).addressString();
            offset[i] = Long.remainderUnsigned(XxHash64.hash(key, 0), tableSize);
            skip[i] = Long.remainderUnsigned(XxHash64.hash(key, 1), tableSize - 1) + 1;
        }
        int[] t = new int[tableSize];
        Arrays.fill(t, -1);
        int filled = 0;
        for (long iteration = 1; filled < tableSize; iteration++) {
            for (int i = 0; i < n && filled < tableSize; i++) {
                if (count[i] >= iteration * (weights[i] / maxWeight)) {
                    continue;
                }
                int c;
                do {
                    c = (int) ((offset[i] + next[i] * skip[i]) % tableSize);
                    next[i]++;
                } while (t[c] >= 0);
                t[c] = i;
                count[i]++;
                filled++;
            }
        }
        table = t;
    }

    @Override
    Host choose(long hash, boolean hasHash, int attempt) {
        return hosts.get(table[(int) Long.remainderUnsigned(hash, table.length)]);
    }
}
