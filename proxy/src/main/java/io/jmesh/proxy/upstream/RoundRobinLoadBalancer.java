package io.jmesh.proxy.upstream;

import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code ROUND_ROBIN}. With equal weights it cycles through the hosts. With different weights it follows a
 * schedule computed once per snapshot by earliest-deadline-first, as Envoy's weighted round robin does
 * (each host's next deadline advances by {@code 1/weight}), so that every window of {@code sum(weights)} picks
 * holds each host {@code weight} times, interleaved. Weights are divided by their GCD and, when their sum
 * exceeds {@value #MAX_SCHEDULE}, scaled down to it (each host keeps at least one slot).
 * The only mutable state is one {@link AtomicLong} cursor, starting at a random offset.
 */
final class RoundRobinLoadBalancer extends LoadBalancer {

    static final int MAX_SCHEDULE = 65536;

    private final int[] schedule;
    private final AtomicLong cursor = new AtomicLong(ThreadLocalRandom.current().nextInt(1 << 16));

    RoundRobinLoadBalancer(List<Host> hosts, int[] weights) {
        super(hosts);
        this.schedule = allEqual(weights) ? null : schedule(weights);
    }

    static int[] schedule(int[] weights) {
        int n = weights.length;
        long[] w = new long[n];
        long g = 0;
        for (int i = 0; i < n; i++) {
            w[i] = weights[i];
            g = gcd(g, w[i]);
        }
        long total = 0;
        for (int i = 0; i < n; i++) {
            w[i] /= g;
            total += w[i];
        }
        if (total > MAX_SCHEDULE) {
            long scaledTotal = 0;
            for (int i = 0; i < n; i++) {
                w[i] = Math.max(1, w[i] * MAX_SCHEDULE / total);
                scaledTotal += w[i];
            }
            total = scaledTotal;
        }
        final long[] weight = w;
        // Entries: {deadline, index}; ties are broken by index so that the schedule is deterministic.
        PriorityQueue<double[]> queue = new PriorityQueue<>(n, (a, b) -> a[0] != b[0] ? Double.compare(a[0], b[0])
                                                                                     : Double.compare(a[1], b[1]));
        for (int i = 0; i < n; i++) {
            queue.add(new double[] { 1.0 / weight[i], i });
        }
        int[] out = new int[(int) total];
        int[] left = new int[n];
        for (int i = 0; i < n; i++) {
            left[i] = (int) weight[i];
        }
        for (int k = 0; k < out.length; k++) {
            double[] e = queue.poll();
            int i = (int) e[1];
            out[k] = i;
            if (--left[i] > 0) {
                e[0] += 1.0 / weight[i];
                queue.add(e);
            }
        }
        return out;
    }

    private static long gcd(long a, long b) {
        while (b != 0) {
            long t = a % b;
            a = b;
            b = t;
        }
        return a;
    }

    @Override
    Host choose(long hash, boolean hasHash, int attempt) {
        long c = cursor.getAndIncrement() & Long.MAX_VALUE;
        if (schedule == null) {
            return hosts.get((int) (c % hosts.size()));
        }
        return hosts.get(schedule[(int) (c % schedule.length)]);
    }
}
