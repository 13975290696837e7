package io.jmesh.proxy.upstream;

import static io.jmesh.proxy.upstream.TestClusters.build;
import static io.jmesh.proxy.upstream.TestClusters.hash;
import static io.jmesh.proxy.upstream.TestClusters.pick;
import static io.jmesh.proxy.upstream.TestClusters.staticCluster;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import com.google.protobuf.UInt32Value;
import com.google.protobuf.UInt64Value;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;

class LoadBalancerTest {

    private static void assertNear(double expected, double actual, double tolerance, String what) {
        assertTrue(Math.abs(expected - actual) <= tolerance,
                   what + ": " + actual + " (expected: " + expected + " +- " + tolerance + ')');
    }

    @Test
    void roundRobinCyclesEvenly() throws Exception {
        UpstreamCluster c = build(staticCluster("c", Cluster.LbPolicy.ROUND_ROBIN, 0, 0, 0).build());
        Map<String, Integer> counts = pick(c, 300);
        assertEquals(Map.of("10.0.0.1:80", 100, "10.0.0.2:80", 100, "10.0.0.3:80", 100), counts);
    }

    @Test
    void weightedRoundRobinHonoursWeightsInEveryWindowAndInterleaves() throws Exception {
        UpstreamCluster c = build(staticCluster("c", Cluster.LbPolicy.ROUND_ROBIN, 1, 2, 3).build());
        List<String> seq = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            seq.add(c.chooseHost(LoadBalancerContext.NONE).addressString());
        }
        // Every window of sum(weights) = 6 consecutive picks holds each host exactly weight times.
        for (int start = 0; start + 6 <= seq.size(); start++) {
            Map<String, Integer> w = new HashMap<>();
            for (String s : seq.subList(start, start + 6)) {
                w.merge(s, 1, Integer::sum);
            }
            assertEquals(Map.of("10.0.0.1:80", 1, "10.0.0.2:80", 2, "10.0.0.3:80", 3), w, "window at " + start);
        }
        // Smooth: the heaviest host is never picked 3 times in a row.
        for (int i = 0; i + 3 <= seq.size(); i++) {
            assertTrue(!(seq.get(i).equals(seq.get(i + 1)) && seq.get(i).equals(seq.get(i + 2))), "run at " + i);
        }
    }

    @Test
    void weightedRoundRobinScalesHugeWeights() {
        int[] schedule = RoundRobinLoadBalancer.schedule(new int[] { 1, Integer.MAX_VALUE });
        assertTrue(schedule.length <= RoundRobinLoadBalancer.MAX_SCHEDULE + 2, "length " + schedule.length);
        long zeros = java.util.Arrays.stream(schedule).filter(i -> i == 0).count();
        assertEquals(1, zeros, "the light host keeps one slot");
    }

    @Test
    void randomIsUniform() throws Exception {
        UpstreamCluster c = build(staticCluster("c", Cluster.LbPolicy.RANDOM, 0, 0, 0).build());
        Map<String, Integer> counts = pick(c, 30000);
        for (int i = 1; i <= 3; i++) {
            // sigma = sqrt(30000 * 1/3 * 2/3) ~ 82; 600 is over 7 sigma.
            assertNear(10000, counts.get("10.0.0." + i + ":80"), 600, "host " + i);
        }
    }

    @Test
    void randomHonoursWeights() throws Exception {
        UpstreamCluster c = build(staticCluster("c", Cluster.LbPolicy.RANDOM, 1, 3).build());
        Map<String, Integer> counts = pick(c, 40000);
        assertNear(10000, counts.get("10.0.0.1:80"), 600, "weight 1");
        assertNear(30000, counts.get("10.0.0.2:80"), 600, "weight 3");
    }

    @Test
    void leastRequestAvoidsBusyHost() throws Exception {
        UpstreamCluster c = build(staticCluster("c", Cluster.LbPolicy.LEAST_REQUEST, 0, 0, 0).build());
        Host busy = c.hosts().get(0);
        for (int i = 0; i < 10; i++) {
            busy.requestStarted();
        }
        Map<String, Integer> counts = pick(c, 9000);
        // P2C picks the busy host only when both draws are the busy host: 1/9 of the time (sigma ~ 30).
        assertNear(1000, counts.get("10.0.0.1:80"), 250, "busy host");
        assertNear(4000, counts.get("10.0.0.2:80"), 400, "idle host");
        for (int i = 0; i < 10; i++) {
            busy.requestFinished();
        }
        assertEquals(0, busy.activeRequests());
    }

    @Test
    void leastRequestChoiceCount() throws Exception {
        UpstreamCluster c = build(staticCluster("c", Cluster.LbPolicy.LEAST_REQUEST, 0, 0, 0)
                                          .setLeastRequestLbConfig(Cluster.LeastRequestLbConfig.newBuilder()
                                                                   .setChoiceCount(UInt32Value.of(20))).build());
        c.hosts().get(0).requestStarted();
        c.hosts().get(1).requestStarted();
        Map<String, Integer> counts = pick(c, 3000);
        // The idle host is missing from 20 draws with probability (2/3)^20 ~ 3e-4.
        assertTrue(counts.get("10.0.0.3:80") > 2950, counts.toString());
    }

    @Test
    void leastRequestHonoursWeightsWhenIdleAndUnderLoad() throws Exception {
        UpstreamCluster c = build(staticCluster("c", Cluster.LbPolicy.LEAST_REQUEST, 1, 3).build());
        Map<String, Integer> idle = pick(c, 40000);
        assertNear(10000, idle.get("10.0.0.1:80"), 600, "weight 1 idle");
        // With 1 request on the light host and 2 on the heavy one, active/weight is 1 vs 2/3: heavy wins.
        Host light = c.hosts().get(0);
        Host heavy = c.hosts().get(1);
        light.requestStarted();
        heavy.requestStarted();
        heavy.requestStarted();
        Map<String, Integer> loaded = pick(c, 40000);
        // The light host wins only when both draws are the light host: 1/16 of the time.
        assertNear(2500, loaded.get("10.0.0.1:80"), 400, "weight 1 loaded");
    }

    private static Map<Long, String> owners(UpstreamCluster c, long[] keys) {
        Map<Long, String> m = new HashMap<>();
        for (long k : keys) {
            m.put(k, c.chooseHost(hash(k)).addressString());
        }
        return m;
    }

    private static long[] keys(int n) {
        SplittableRandom r = new SplittableRandom(42);
        long[] k = new long[n];
        for (int i = 0; i < n; i++) {
            k[i] = r.nextLong();
        }
        return k;
    }

    private static int[] ones(int n) {
        int[] w = new int[n];
        java.util.Arrays.fill(w, 1);
        return w;
    }

    /** Hosts 10.0.0.1..10 against hosts 10.0.0.1..9: returns the fraction of keys that changed host. */
    private static double disruption(Cluster.LbPolicy policy, Map<String, Integer> perHost) throws Exception {
        UpstreamCluster ten = build(staticCluster("c", policy, ones(10)).build());
        UpstreamCluster nine = build(staticCluster("c", policy, ones(9)).build());
        long[] keys = keys(20000);
        Map<Long, String> before = owners(ten, keys);
        Map<Long, String> again = owners(ten, keys);
        assertEquals(before, again, "same key, same host");
        Map<Long, String> after = owners(nine, keys);
        int moved = 0;
        for (long k : keys) {
            perHost.merge(before.get(k), 1, Integer::sum);
            if (!before.get(k).equals(after.get(k))) {
                moved++;
                if (!before.get(k).equals("10.0.0.10:80")) {
                    perHost.merge("moved-from-survivor", 1, Integer::sum);
                }
            } else {
                assertTrue(!after.get(k).equals("10.0.0.10:80"));
            }
        }
        for (long k : keys) {
            if (before.get(k).equals("10.0.0.10:80")) {
                assertTrue(!after.get(k).equals("10.0.0.10:80"), "keys of the removed host move");
            }
        }
        return moved / (double) keys.length;
    }

    @Test
    void ringHashIsConsistent() throws Exception {
        Map<String, Integer> perHost = new HashMap<>();
        double moved = disruption(Cluster.LbPolicy.RING_HASH, perHost);
        // The removed host owned ~1/10 of the keys. Envoy's ring keeps ~minimum_ring_size entries, so each of the
        // 9 survivors gains ~11% more entries, which take a further ~1/10 of the keys.
        assertTrue(moved > 0.05 && moved < 0.25, "moved " + moved);
        for (int i = 1; i <= 10; i++) {
            assertNear(2000, perHost.get("10.0.0." + i + ":80"), 700, "share of host " + i);
        }
    }

    @Test
    void maglevIsConsistent() throws Exception {
        Map<String, Integer> perHost = new HashMap<>();
        double moved = disruption(Cluster.LbPolicy.MAGLEV, perHost);
        assertTrue(moved > 0.08 && moved < 0.16, "moved " + moved);
        int fromSurvivors = perHost.getOrDefault("moved-from-survivor", 0);
        assertTrue(fromSurvivors < 20000 * 0.04, "keys moved between surviving hosts: " + fromSurvivors);
        for (int i = 1; i <= 10; i++) {
            // Maglev tables are near-perfectly balanced: 2000 keys each, sampling noise only (sigma ~ 42).
            assertNear(2000, perHost.get("10.0.0." + i + ":80"), 250, "share of host " + i);
        }
    }

    private static double share(UpstreamCluster c, String address) {
        long[] keys = keys(20000);
        int n = 0;
        for (long k : keys) {
            if (c.chooseHost(hash(k)).addressString().equals(address)) {
                n++;
            }
        }
        return n / 20000.0;
    }

    @Test
    void ringHashHonoursWeightsAndRingSize() throws Exception {
        UpstreamCluster c = build(staticCluster("c", Cluster.LbPolicy.RING_HASH, 1, 3)
                                          .setRingHashLbConfig(Cluster.RingHashLbConfig.newBuilder()
                                                               .setMinimumRingSize(UInt64Value.of(4096))).build());
        assertNear(0.25, share(c, "10.0.0.1:80"), 0.05, "weight 1 share");
    }

    @Test
    void maglevHonoursWeightsAndTableSize() throws Exception {
        UpstreamCluster c = build(staticCluster("c", Cluster.LbPolicy.MAGLEV, 1, 3)
                                          .setMaglevLbConfig(Cluster.MaglevLbConfig.newBuilder()
                                                             .setTableSize(UInt64Value.of(251))).build());
        assertNear(0.25, share(c, "10.0.0.1:80"), 0.03, "weight 1 share");
    }

    @Test
    void ringSizeFollowsEnvoyScale() {
        List<Host> hosts = build3();
        RingHashLoadBalancer lb = new RingHashLoadBalancer(hosts, new int[] { 1, 1, 2 }, 1024, 8 * 1024 * 1024);
        // min normalized weight 1/4: scale = ceil(1024/4) * 4 = 1024 entries.
        assertEquals(1024, lb.ringSize());
        RingHashLoadBalancer capped = new RingHashLoadBalancer(hosts, new int[] { 1, 1, 2 }, 1024, 100);
        assertEquals(100, capped.ringSize());
    }

    private static List<Host> build3() {
        List<Host> hosts = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            hosts.add(new Host(new java.net.InetSocketAddress("10.0.0." + i, 80), "", 1, 0,
                               io.envoyproxy.envoy.config.core.v3.HealthStatus.HEALTHY, "", 0, null));
        }
        return hosts;
    }

    @Test
    void hashPoliciesWithoutHashPickRandomly() throws Exception {
        for (Cluster.LbPolicy p : new Cluster.LbPolicy[] { Cluster.LbPolicy.RING_HASH, Cluster.LbPolicy.MAGLEV }) {
            UpstreamCluster c = build(staticCluster("c", p, 0, 0).build());
            Map<String, Integer> counts = pick(c, 4000);
            assertNear(2000, counts.get("10.0.0.1:80"), 300, p + " without hash");
        }
    }

    @Test
    void shouldSelectAnotherHostIsHonoured() throws Exception {
        UpstreamCluster rr = build(staticCluster("c", Cluster.LbPolicy.ROUND_ROBIN, 0, 0).build());
        Host avoid = rr.hosts().get(0);
        LoadBalancerContext ctx = new LoadBalancerContext() {
            @Override
            public java.util.OptionalLong hashKey() {
                return java.util.OptionalLong.empty();
            }

            @Override
            public boolean shouldSelectAnotherHost(Host host) {
                return host == avoid;
            }
        };
        for (int i = 0; i < 100; i++) {
            assertSame(rr.hosts().get(1), rr.chooseHost(ctx));
        }
        // Least-request favours the host with nothing in flight, e.g. one that fails fast: a retry must still
        // leave it when the re-picks keep landing on it.
        UpstreamCluster lr = build(staticCluster("c", Cluster.LbPolicy.LEAST_REQUEST, 0, 0).build());
        Host failsFast = lr.hosts().get(0);
        Host busy = lr.hosts().get(1);
        for (int i = 0; i < 5; i++) {
            busy.requestStarted();
        }
        LoadBalancerContext leave = new LoadBalancerContext() {
            @Override
            public java.util.OptionalLong hashKey() {
                return java.util.OptionalLong.empty();
            }

            @Override
            public boolean shouldSelectAnotherHost(Host host) {
                return host == failsFast;
            }
        };
        for (int i = 0; i < 200; i++) {
            assertSame(busy, lr.chooseHost(leave));
        }
        UpstreamCluster ring = build(staticCluster("c", Cluster.LbPolicy.RING_HASH, 0, 0).build());
        Host first = ring.chooseHost(hash(7));
        assertNotNull(first);
        LoadBalancerContext retry = new LoadBalancerContext() {
            @Override
            public java.util.OptionalLong hashKey() {
                return java.util.OptionalLong.of(7);
            }

            @Override
            public boolean shouldSelectAnotherHost(Host host) {
                return host == first;
            }
        };
        assertNotNull(ring.chooseHost(retry));
        int other = 0;
        for (long key : keys(1000)) {
            Host h0 = ring.chooseHost(hash(key));
            Host h1 = ring.chooseHost(new LoadBalancerContext() {
                @Override
                public java.util.OptionalLong hashKey() {
                    return java.util.OptionalLong.of(key);
                }

                @Override
                public boolean shouldSelectAnotherHost(Host host) {
                    return host == h0;
                }
            });
            if (h1 != h0) {
                other++;
            }
        }
        // Each re-hashed attempt lands on the other host with probability ~1/2: all 3 miss ~1/8 of the time.
        assertTrue(other > 800, "picked another host " + other + " times out of 1000");
    }
}
