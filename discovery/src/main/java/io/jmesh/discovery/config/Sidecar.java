package io.jmesh.discovery.config;

import java.util.List;
import java.util.Map;

/**
 * The spec of Istio's {@code Sidecar}: which hosts ({@code namespace/dnsName}) a sidecar's egress
 * may reach, and what happens to traffic to unknown hosts.
 *
 * @see <a href="https://istio.io/latest/docs/reference/config/networking/sidecar/">Sidecar</a>
 */
public record Sidecar(ServiceEntry.WorkloadSelector workloadSelector, List<Map<String, Object>> ingress,
                      List<IstioEgressListener> egress, OutboundTrafficPolicy outboundTrafficPolicy) {

    public Sidecar {
        ingress = ingress == null ? List.of() : List.copyOf(ingress);
        egress = egress == null ? List.of() : List.copyOf(egress);
    }

    /** An egress listener: optional port, and the hosts it may reach. */
    public record IstioEgressListener(ServiceEntry.Port port, String bind, String captureMode, List<String> hosts) {
        public IstioEgressListener {
            hosts = hosts == null ? List.of() : List.copyOf(hosts);
        }
    }

    /** {@code mode} REGISTRY_ONLY or ALLOW_ANY. */
    public record OutboundTrafficPolicy(String mode, Map<String, Object> egressProxy) {}
}
