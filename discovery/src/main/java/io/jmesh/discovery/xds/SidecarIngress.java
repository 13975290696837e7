package io.jmesh.discovery.xds;

import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.Pipe;
import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.Sidecar;
import io.jmesh.discovery.model.ServicePort;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * A Sidecar resource's {@code ingress} listeners, as istiod builds a sidecar's inbound config from them: when the
 * Sidecar that selects a proxy has any, they replace the ports of the workload's services. Each becomes
 * <ul>
 *   <li>a filter chain of {@code virtualInbound} for destination port {@code port.number} (captureMode DEFAULT or
 *       IPTABLES), or a listener {@code <bind>_<port>} bound on {@code bind} (default {@code 0.0.0.0}) and
 *       {@code port.number} (captureMode NONE); its protocol (HTTP, gRPC, Dubbo, Bolt, else TCP) picks the HTTP
 *       connection manager, rpc_proxy or tcp_proxy, with the policies of that port as for service ports;</li>
 *   <li>the cluster {@code inbound|<port>||} with one endpoint, {@code defaultEndpoint}: {@code 127.0.0.1:PORT} (or
 *       {@code [::1]:PORT}) forwards to the loopback, {@code 0.0.0.0:PORT} (or {@code [::]:PORT}) to the workload's
 *       IP, {@code unix:///path} to a Unix socket (an Envoy {@code pipe} address); unset, to the workload's IP on
 *       the port's number; {@code connectionPool} sets its circuit breakers as a DestinationRule's would;</li>
 *   <li>with {@code tls} (SIMPLE or MUTUAL, certificate files), a chain terminating TLS with those files in place
 *       of the mesh mTLS that PeerAuthentication asks for.</li>
 * </ul>
 */
final class SidecarIngress {

    private SidecarIngress() {}

    /** The ingress listeners of the Sidecar that selects {@code ctx}'s proxy, empty when none. */
    static List<Sidecar.IstioIngressListener> of(GenerationContext ctx) {
        Config<Sidecar> sc = ctx.sidecar;
        return sc == null ? List.of() : sc.spec().ingress();
    }

    /** The ingress listener for workload port {@code port}, or null. */
    static Sidecar.IstioIngressListener listener(GenerationContext ctx, int port) {
        for (Sidecar.IstioIngressListener l : of(ctx)) {
            if (l.port() != null && l.port().number() != null && l.port().number() == port) {
                return l;
            }
        }
        return null;
    }

    /** The inbound ports the ingress listeners define, as {@link InboundPort}s, in port order. */
    static Map<Integer, InboundPort> inboundPorts(List<Sidecar.IstioIngressListener> ingress) {
        Map<Integer, InboundPort> out = new TreeMap<>();
        for (Sidecar.IstioIngressListener l : ingress) {
            ServicePort p = servicePort(l);
            out.put(p.number(), new InboundPort(p.isHttp() ? "http" : p.rpcProtocol() != null ? p.rpcProtocol() : "tcp",
                    p.isHttp2()));
        }
        return out;
    }

    /** The ingress listener's port as a service port (the name defaults to the protocol and number). */
    static ServicePort servicePort(Sidecar.IstioIngressListener l) {
        String protocol = l.port().protocol().toUpperCase(Locale.ROOT);
        String name = l.port().name() != null ? l.port().name() : protocol.toLowerCase(Locale.ROOT) + "-" + l.port().number();
        return new ServicePort(name, l.port().number(), protocol, l.port().number());
    }

    /** Whether the listener is bound by the proxy itself (captureMode NONE) rather than fed by iptables. */
    static boolean bound(Sidecar.IstioIngressListener l) {
        return "NONE".equals(l.captureMode());
    }

    /** The name and IP of a bound ingress listener: {@code <bind>_<port>}, bind {@code 0.0.0.0} when unset. */
    static String bindAddress(Sidecar.IstioIngressListener l) {
        return l.bind() == null || l.bind().isEmpty() ? "0.0.0.0" : l.bind();
    }

    /** Whether some ingress listener forwards to the workload's IP, so the proxy's IP shapes its clusters. */
    static boolean usesWorkloadIp(Sidecar sc) {
        for (Sidecar.IstioIngressListener l : sc.ingress()) {
            String ep = l.defaultEndpoint();
            if (ep == null || ep.isEmpty() || ep.startsWith("0.0.0.0:") || ep.startsWith("[::]:")) {
                return true;
            }
        }
        return false;
    }

    /**
     * The endpoint of {@code inbound|<port>||}: the ingress listener's {@code defaultEndpoint} (see the class
     * comment), or {@code 127.0.0.1:<port>} for a workload port without ingress listeners (the service-port case).
     */
    static Address endpoint(GenerationContext ctx, int port) {
        Sidecar.IstioIngressListener l = listener(ctx, port);
        if (l == null) {
            return ClusterGenerator.address("127.0.0.1", port);
        }
        String ep = l.defaultEndpoint();
        String workloadIp = ctx.proxy.ip().isEmpty() ? "127.0.0.1" : ctx.proxy.ip();
        if (ep == null || ep.isEmpty()) {
            return ClusterGenerator.address(workloadIp, port);
        }
        if (ep.startsWith("unix://")) {
            return Address.newBuilder().setPipe(Pipe.newBuilder().setPath(ep.substring("unix://".length()))).build();
        }
        int colon = ep.lastIndexOf(':');
        String host = ep.substring(0, colon);
        int target = Integer.parseInt(ep.substring(colon + 1));
        return switch (host) {
            case "0.0.0.0", "[::]" -> ClusterGenerator.address(workloadIp, target);
            case "[::1]" -> ClusterGenerator.address("::1", target);
            default -> ClusterGenerator.address("127.0.0.1", target);
        };
    }
}
