package io.jmesh.discovery.config;

import java.util.List;
import java.util.Map;

/**
 * The spec of Istio's {@code Sidecar}: the inbound ports a sidecar accepts ({@code ingress}, replacing those of its
 * workload's services), which hosts ({@code namespace/dnsName}) its egress may reach, and what happens to traffic to
 * unknown hosts.
 *
 * @see <a href="https://istio.io/latest/docs/reference/config/networking/sidecar/">Sidecar</a>
 */
public record Sidecar(ServiceEntry.WorkloadSelector workloadSelector, List<IstioIngressListener> ingress,
                      List<IstioEgressListener> egress, OutboundTrafficPolicy outboundTrafficPolicy) {

    public Sidecar {
        ingress = ingress == null ? List.of() : List.copyOf(ingress);
        egress = egress == null ? List.of() : List.copyOf(egress);
    }

    /**
     * An ingress listener: the workload port {@code port} the sidecar accepts, bound on {@code bind} when
     * {@code captureMode} is NONE (else taken from iptables on 15006), forwarded to {@code defaultEndpoint}
     * ({@code 127.0.0.1:PORT}, {@code 0.0.0.0:PORT} for the workload's IP, or {@code unix:///path}); {@code tls}
     * terminates TLS with the given files instead of the mesh's mTLS.
     */
    public record IstioIngressListener(ServiceEntry.Port port, String bind, String captureMode, String defaultEndpoint,
                                       Gateway.ServerTLSSettings tls,
                                       DestinationRule.ConnectionPoolSettings connectionPool) {}

    /** An egress listener: optional port, and the hosts it may reach. */
    public record IstioEgressListener(ServiceEntry.Port port, String bind, String captureMode, List<String> hosts) {
        public IstioEgressListener {
            hosts = hosts == null ? List.of() : List.copyOf(hosts);
        }
    }

    /** {@code mode} REGISTRY_ONLY or ALLOW_ANY. */
    public record OutboundTrafficPolicy(String mode, Map<String, Object> egressProxy) {}
}
