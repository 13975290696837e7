package io.jmesh.proxy.upstream;

import java.util.List;

/**
 * Picks a host among the healthy hosts of one priority. Built once per host-set snapshot, off the event
 * loop; {@link #choose} is called concurrently from every event loop, so implementations are immutable or
 * keep lock-free state only.
 */
abstract class LoadBalancer {

    final List<Host> hosts;

    LoadBalancer(List<Host> hosts) {
        this.hosts = hosts;
    }

    /**
     * Picks a host. {@code hash} is the request's hash when {@code hasHash}, else a random value; {@code attempt}
     * counts the picks already rejected by {@link LoadBalancerContext#shouldSelectAnotherHost}.
     */
    abstract Host choose(long hash, boolean hasHash, int attempt);

    /** Builds a balancer for one priority's healthy hosts and their (positive) load-balancing weights. */
    interface Factory {
        LoadBalancer create(List<Host> hosts, int[] weights);
    }

    static boolean allEqual(int[] weights) {
        for (int w : weights) {
            if (w != weights[0]) {
                return false;
            }
        }
        return true;
    }

    static long sum(int[] weights) {
        long total = 0;
        for (int w : weights) {
            total += w;
        }
        return total;
    }
}
