package io.jmesh.proxy.upstream;

import io.jmesh.proxy.internal.XxHash64;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * An immutable host set with its load balancers, one per priority, swapped atomically by
 * {@link UpstreamCluster}.
 *
 * <p>Priorities follow Envoy's
 * <a href="https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/priority">priority
 * levels</a> with the overprovisioning factor ({@code ClusterLoadAssignment.policy.overprovisioning_factor},
 * default 140%): a priority's health is {@code min(100, factor * healthy / total)} percent; traffic fills
 * priorities in order up to their health, and when the total health is under 100 the loads are normalized
 * so that they still add up to 100. So P0 takes all traffic while at least 1/1.4 = 72% of its hosts are
 * healthy, then spills progressively to P1. Envoy's panic threshold is not implemented: unhealthy hosts
 * are never picked, and with no healthy host at all {@link #choose} returns null.
 *
 * <p>Locality weights are honoured only when {@code common_lb_config.locality_weighted_lb_config} is set, as in
 * Envoy. Then a host's balancing weight is its locality's share — {@code locality_weight} times the
 * locality's availability {@code min(1, factor * healthy / total)} — split among the locality's healthy hosts
 * in proportion to their endpoint weights, then quantized to integers. Otherwise the endpoint
 * {@code load_balancing_weight} is used directly.
 */
final class HostSetSnapshot {

    /**
     * Picks per request when {@link LoadBalancerContext#shouldSelectAnotherHost} rejects hosts: the first pick
     * plus 3 re-picks (Envoy's route-level {@code host_selection_retry_max_attempts} defaults to 1 re-pick), then a
     * scan of the balancer's hosts for one the context accepts.
     */
    static final int MAX_SELECTION_ATTEMPTS = 4;
    static final int DEFAULT_OVERPROVISIONING_FACTOR = 140;
    private static final int QUANTUM = 1_000_000;

    static final HostSetSnapshot EMPTY = new HostSetSnapshot(List.of(), new LoadBalancer[0], new int[0], 0);

    final List<Host> hosts;
    private final LoadBalancer[] balancers;
    /** Cumulative percentage of traffic per priority; the last non-zero entry is 100. */
    private final int[] cumulativeLoad;
    final int healthyCount;

    private HostSetSnapshot(List<Host> hosts, LoadBalancer[] balancers, int[] cumulativeLoad, int healthyCount) {
        this.hosts = hosts;
        this.balancers = balancers;
        this.cumulativeLoad = cumulativeLoad;
        this.healthyCount = healthyCount;
    }

    static HostSetSnapshot build(List<Host> hosts, LoadBalancer.Factory factory, boolean localityWeighted,
                                 int overprovisioningFactor) {
        if (hosts.isEmpty()) {
            return EMPTY;
        }
        TreeMap<Integer, List<Host>> byPriority = new TreeMap<>();
        for (Host h : hosts) {
            byPriority.computeIfAbsent(h.priority(), p -> new ArrayList<>()).add(h);
        }
        int levels = byPriority.lastKey() + 1;
        LoadBalancer[] balancers = new LoadBalancer[levels];
        int[] health = new int[levels];
        int healthyCount = 0;
        for (Map.Entry<Integer, List<Host>> e : byPriority.entrySet()) {
            List<Host> all = e.getValue();
            List<Host> healthy = new ArrayList<>();
            for (Host h : all) {
                if (h.healthy()) {
                    healthy.add(h);
                }
            }
            healthyCount += healthy.size();
            if (healthy.isEmpty()) {
                continue;
            }
            int[] weights;
            List<Host> eligible;
            if (localityWeighted) {
                eligible = new ArrayList<>();
                weights = localityWeights(all, overprovisioningFactor, eligible);
            } else {
                eligible = healthy;
                weights = new int[healthy.size()];
                for (int i = 0; i < weights.length; i++) {
                    weights[i] = healthy.get(i).weight();
                }
            }
            if (eligible.isEmpty()) {
                continue;
            }
            balancers[e.getKey()] = factory.create(Collections.unmodifiableList(eligible), weights);
            health[e.getKey()] = (int) Math.min(100, (long) overprovisioningFactor * healthy.size() / all.size());
        }
        return new HostSetSnapshot(List.copyOf(hosts), balancers, priorityLoad(health, balancers), healthyCount);
    }

    /** Envoy's priority load: fill in order up to each level's health, normalized when the total is short. */
    static int[] priorityLoad(int[] health, LoadBalancer[] balancers) {
        int levels = health.length;
        int total = 0;
        for (int p = 0; p < levels; p++) {
            if (balancers[p] == null) {
                health[p] = 0;
            }
            total += health[p];
        }
        int[] load = new int[levels];
        if (total == 0) {
            // Every level has healthy hosts below 1/factor...: cannot happen with factor >= 100 unless no
            // level has a healthy host; send everything to the first level that has a balancer, if any.
            for (int p = 0; p < levels; p++) {
                if (balancers[p] != null) {
                    load[p] = 100;
                    break;
                }
            }
        } else if (total >= 100) {
            int remaining = 100;
            for (int p = 0; p < levels; p++) {
                load[p] = Math.min(remaining, health[p]);
                remaining -= load[p];
            }
        } else {
            int assigned = 0;
            int first = -1;
            for (int p = 0; p < levels; p++) {
                load[p] = health[p] * 100 / total;
                assigned += load[p];
                if (first < 0 && health[p] > 0) {
                    first = p;
                }
            }
            load[first] += 100 - assigned;
        }
        int[] cumulative = new int[levels];
        int acc = 0;
        for (int p = 0; p < levels; p++) {
            acc += load[p];
            cumulative[p] = acc;
        }
        return cumulative;
    }

    private static int[] localityWeights(List<Host> all, int factor, List<Host> eligible) {
        Map<String, List<Host>> byLocality = new LinkedHashMap<>();
        for (Host h : all) {
            byLocality.computeIfAbsent(h.locality(), l -> new ArrayList<>()).add(h);
        }
        List<Double> shares = new ArrayList<>();
        double max = 0;
        for (List<Host> locality : byLocality.values()) {
            int healthy = 0;
            long healthyWeight = 0;
            for (Host h : locality) {
                if (h.healthy()) {
                    healthy++;
                    healthyWeight += h.weight();
                }
            }
            double availability = Math.min(1.0, factor / 100.0 * healthy / locality.size());
            double localityShare = locality.get(0).localityWeight() * availability;
            if (healthy == 0 || localityShare <= 0) {
                continue;
            }
            for (Host h : locality) {
                if (h.healthy()) {
                    double share = localityShare * h.weight() / healthyWeight;
                    eligible.add(h);
                    shares.add(share);
                    max = Math.max(max, share);
                }
            }
        }
        int[] weights = new int[shares.size()];
        for (int i = 0; i < weights.length; i++) {
            weights[i] = (int) Math.max(1, Math.round(shares.get(i) / max * QUANTUM));
        }
        return weights;
    }

    /** Picks a host, or null when no priority has a healthy host. Lock-free. */
    Host choose(LoadBalancerContext context) {
        if (balancers.length == 0) {
            return null;
        }
        OptionalLong key = context.hashKey();
        boolean hasHash = key.isPresent();
        long hash = hasHash ? key.getAsLong() : ThreadLocalRandom.current().nextLong();
        Host host = null;
        LoadBalancer lb = null;
        for (int attempt = 0; attempt < MAX_SELECTION_ATTEMPTS; attempt++) {
            long h = attempt == 0 ? hash
                                  : hasHash ? XxHash64.hash(hash, attempt) : ThreadLocalRandom.current().nextLong();
            lb = balancerFor(h);
            if (lb == null) {
                return null;
            }
            host = lb.choose(h, hasHash, attempt);
            if (host == null || !context.shouldSelectAnotherHost(host)) {
                return host;
            }
        }
        // Every pick was rejected (least-request, say, keeps favouring a host that fails fast, having nothing in
        // flight): the first host of the last balancer the context accepts, from a position the hash gives
        // (stable for hashed requests), else the last pick.
        List<Host> hosts = lb.hosts;
        int start = (int) Long.remainderUnsigned(hash, hosts.size());
        for (int i = 0; i < hosts.size(); i++) {
            Host candidate = hosts.get((start + i) % hosts.size());
            if (!context.shouldSelectAnotherHost(candidate)) {
                return candidate;
            }
        }
        return host;
    }

    private LoadBalancer balancerFor(long hash) {
        int point = (int) Long.remainderUnsigned(hash, 100);
        for (int p = 0; p < cumulativeLoad.length; p++) {
            if (point < cumulativeLoad[p]) {
                return balancers[p];
            }
        }
        return null;
    }
}
