package io.jmesh.proxy.upstream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.testing.FakeClock;

/**
 * {@code slow_start_config} (Istio's {@code loadBalancer.warmup}): a host added to a ROUND_ROBIN or LEAST_REQUEST
 * cluster ramps as Envoy's {@code weight * max(min_weight_percent, time_factor ^ (1 / aggression))}, timed by a
 * {@link FakeClock}.
 */
class SlowStartTest {

    private static Host host(String ip, Host previous) {
        return new Host(new InetSocketAddress(ip, 80), "", 1, 0, HealthStatus.HEALTHY, "", 0, previous);
    }

    private static LoadBalancer.Factory factory(String lb, FakeClock clock) throws Exception {
        Cluster c = EnvoyTypes.PARSER.parse("name: c\ntype: STATIC\n" + lb, Cluster.newBuilder()).build();
        return LoadBalancers.factory(c, false, clock::nanoTime);
    }

    /** Picks a full round-robin cycle ({@code total} picks) and counts the picks per host. */
    private static Map<Host, Integer> cycle(LoadBalancer lb, int total) {
        Map<Host, Integer> n = new HashMap<>();
        for (int i = 0; i < total; i++) {
            n.merge(lb.choose(0, false, 0), 1, Integer::sum);
        }
        return n;
    }

    @Test
    void aNewRoundRobinHostRampsFromMinWeightToFullOverTheWindow() throws Exception {
        try (FakeClock clock = new FakeClock()) {
            LoadBalancer.Factory f = factory("""
                    lb_policy: ROUND_ROBIN
                    round_robin_lb_config: {slow_start_config: {slow_start_window: 10s}}
                    """, clock);
            Host a = host("10.0.0.1", null);
            f.create(List.of(a), new int[] {1});
            clock.forwardTime(100, TimeUnit.SECONDS); // a is past its window
            Host b = host("10.0.0.2", null);
            LoadBalancer lb = f.create(List.of(host("10.0.0.1", a), b), new int[] {1, 1});
            // b just joined: time_factor = max(0 s, 1 s) / 10 s = 0.1
            SlowStartLoadBalancer ss = (SlowStartLoadBalancer) lb;
            assertArrayEquals(new int[] {1000, 100}, ss.currentWeights());
            Map<Host, Integer> n = cycle(lb, 1100);
            assertEquals(1000, n.get(lb.hosts.get(0)));
            assertEquals(100, n.get(b));

            clock.forwardTime(5, TimeUnit.SECONDS);
            assertArrayEquals(new int[] {1000, 500}, ss.currentWeights());
            n = cycle(lb, 1500);
            assertEquals(500, n.get(b));

            clock.forwardTime(5, TimeUnit.SECONDS); // the window is over: equal weights
            assertArrayEquals(new int[] {1000, 1000}, ss.currentWeights());
        }
    }

    @Test
    void aggressionAndMinWeightPercentShapeTheRampOfLeastRequest() throws Exception {
        try (FakeClock clock = new FakeClock()) {
            LoadBalancer.Factory f = factory("""
                    lb_policy: LEAST_REQUEST
                    least_request_lb_config:
                      slow_start_config: {slow_start_window: 100s, aggression: {default_value: 2, runtime_key: k}, min_weight_percent: {value: 20}}
                    """, clock);
            Host a = host("10.0.0.1", null);
            f.create(List.of(a), new int[] {3});
            clock.forwardTime(1000, TimeUnit.SECONDS);
            Host b = host("10.0.0.2", null);
            SlowStartLoadBalancer lb = (SlowStartLoadBalancer) f.create(List.of(a, b), new int[] {3, 2});
            // 1 s / 100 s = 0.01; 0.01 ^ (1/2) = 0.1 < 20 %: the minimum holds
            assertArrayEquals(new int[] {3000, 400}, lb.currentWeights());
            clock.forwardTime(25, TimeUnit.SECONDS); // 25 s: 0.25 ^ (1/2) = 0.5
            assertArrayEquals(new int[] {3000, 1000}, lb.currentWeights());
            clock.forwardTime(39, TimeUnit.SECONDS); // 64 s: 0.64 ^ (1/2) = 0.8
            assertArrayEquals(new int[] {3000, 1600}, lb.currentWeights());

            // an EDS update carries b over with its join time; a re-added host starts again
            Host b2 = host("10.0.0.2", b);
            Host c = host("10.0.0.3", null);
            SlowStartLoadBalancer next = (SlowStartLoadBalancer) f.create(List.of(a, b2, c), new int[] {3, 2, 2});
            assertArrayEquals(new int[] {3000, 1600, 400}, next.currentWeights());
        }
    }

    @Test
    void badSlowStartValuesAreRefusedByName() {
        ConfigException e = assertThrows(ConfigException.class, () -> factory("""
                lb_policy: ROUND_ROBIN
                round_robin_lb_config: {slow_start_config: {slow_start_window: 10s, aggression: {default_value: 0, runtime_key: k}}}
                """, new FakeClock()));
        assertEquals("round_robin_lb_config.slow_start_config.aggression.default_value: 0.0 (expected: > 0)",
                e.getMessage());
        e = assertThrows(ConfigException.class, () -> factory("""
                lb_policy: LEAST_REQUEST
                least_request_lb_config: {slow_start_config: {slow_start_window: 10s, min_weight_percent: {value: 150}}}
                """, new FakeClock()));
        assertEquals("least_request_lb_config.slow_start_config.min_weight_percent.value: 150.0 (expected: 0..100)",
                e.getMessage());
    }
}
