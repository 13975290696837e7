package io.jmesh.discovery.xds;

import io.jmesh.discovery.config.DestinationRule;

/**
 * Computes the policy that applies to one cluster: the rule's top-level policy, overridden field
 * by field by its port-level settings for the port, then by the subset's policy (and the subset's
 * own port-level settings), as Istio merges them.
 */
record TrafficPolicies(DestinationRule.LoadBalancerSettings loadBalancer,
                       DestinationRule.ConnectionPoolSettings connectionPool,
                       DestinationRule.OutlierDetection outlierDetection,
                       DestinationRule.ClientTLSSettings tls) {

    static final TrafficPolicies NONE = new TrafficPolicies(null, null, null, null);

    static TrafficPolicies of(DestinationRule dr, String subset, int port) {
        if (dr == null) {
            return NONE;
        }
        TrafficPolicies p = NONE.merge(dr.trafficPolicy(), port);
        if (subset != null) {
            for (DestinationRule.Subset s : dr.subsets()) {
                if (s.name().equals(subset)) {
                    p = p.merge(s.trafficPolicy(), port);
                }
            }
        }
        return p;
    }

    private TrafficPolicies merge(DestinationRule.TrafficPolicy tp, int port) {
        if (tp == null) {
            return this;
        }
        TrafficPolicies p = new TrafficPolicies(
                tp.loadBalancer() != null ? tp.loadBalancer() : loadBalancer,
                tp.connectionPool() != null ? tp.connectionPool() : connectionPool,
                tp.outlierDetection() != null ? tp.outlierDetection() : outlierDetection,
                tp.tls() != null ? tp.tls() : tls);
        for (DestinationRule.PortTrafficPolicy pl : tp.portLevelSettings()) {
            if (pl.port() != null && pl.port().number() != null && pl.port().number() == port) {
                p = new TrafficPolicies(
                        pl.loadBalancer() != null ? pl.loadBalancer() : p.loadBalancer,
                        pl.connectionPool() != null ? pl.connectionPool() : p.connectionPool,
                        pl.outlierDetection() != null ? pl.outlierDetection() : p.outlierDetection,
                        pl.tls() != null ? pl.tls() : p.tls);
            }
        }
        return p;
    }
}
