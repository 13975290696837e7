package io.jmesh.discovery.xds;

import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.DestinationRule;
import io.jmesh.discovery.config.Labels;
import io.jmesh.discovery.config.Sidecar;
import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.discovery.model.Service;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What one generation run for one proxy needs: the proxy, the snapshot, the services the proxy
 * may see (narrowed by a Sidecar resource that selects it) and its own workload's endpoints.
 */
final class GenerationContext {

    final ProxyNode proxy;
    final MeshSnapshot snapshot;
    final List<Service> services;
    final Config<Sidecar> sidecar;
    /** The proxy's telemetry by listener mode, resolved on first use (a generation run is one thread). */
    private final Map<TelemetryPolicy.Mode, TelemetryPolicy.Resolved> telemetry =
            new java.util.EnumMap<>(TelemetryPolicy.Mode.class);

    GenerationContext(ProxyNode proxy, MeshSnapshot snapshot) {
        this.proxy = proxy;
        this.snapshot = snapshot;
        this.sidecar = proxy.type() == ProxyNode.Type.SIDECAR ? sidecarFor(proxy, snapshot) : null;
        List<Service> visible = new ArrayList<>();
        for (Service s : snapshot.services().values()) {
            if (s.visibleFrom(proxy.namespace(), snapshot.meshConfig().defaultServiceExportTo())
                    && (sidecar == null || egressAllows(sidecar, s, proxy.namespace()))) {
                visible.add(s);
            }
        }
        this.services = List.copyOf(visible);
    }

    /** Returns whether {@code vs} applies to this proxy: exported to its namespace ({@code exportTo}, as Istio). */
    boolean visible(Config<io.jmesh.discovery.config.VirtualService> vs) {
        List<String> exportTo = vs.spec().exportTo().isEmpty()
                ? snapshot.meshConfig().defaultVirtualServiceExportTo() : vs.spec().exportTo();
        return io.jmesh.discovery.config.ConfigValidator.exportedTo(exportTo, vs.meta().namespace(), proxy.namespace());
    }

    DestinationRule destinationRule(String host) {
        Config<DestinationRule> dr = snapshot.destinationRule(host, proxy.namespace());
        return dr == null ? null : dr.spec();
    }

    /** The Telemetry API's metrics, access logs and tracing for this proxy's listeners of {@code mode}. */
    TelemetryPolicy.Resolved telemetry(TelemetryPolicy.Mode mode) {
        return telemetry.computeIfAbsent(mode, m -> new TelemetryPolicy.Resolved(snapshot, proxy, m));
    }

    /** Returns whether traffic to unknown hosts is refused for this proxy. */
    boolean registryOnly() {
        if (sidecar != null && sidecar.spec().outboundTrafficPolicy() != null
                && sidecar.spec().outboundTrafficPolicy().mode() != null) {
            return "REGISTRY_ONLY".equals(sidecar.spec().outboundTrafficPolicy().mode());
        }
        return snapshot.meshConfig().registryOnly();
    }

    /** Returns the endpoints that are this proxy's own workload (same IP), for inbound config. */
    List<Endpoint> ownEndpoints() {
        List<Endpoint> out = new ArrayList<>();
        if (proxy.ip().isEmpty()) {
            return out;
        }
        for (List<Endpoint> eps : snapshot.endpoints().values()) {
            for (Endpoint e : eps) {
                if (e.address().equals(proxy.ip())) {
                    out.add(e);
                }
            }
        }
        return out;
    }

    /**
     * Returns this proxy's own workload ports and how its inbound config treats each ({@link InboundPort}): those of
     * the Sidecar's {@code ingress} listeners when it has any ({@link SidecarIngress}), else its services' ports.
     */
    Map<Integer, InboundPort> inboundPorts() {
        if (sidecar != null && !sidecar.spec().ingress().isEmpty()) {
            return SidecarIngress.inboundPorts(sidecar.spec().ingress());
        }
        return InboundPort.of(snapshot, ownEndpoints());
    }

    static Config<Sidecar> sidecarFor(ProxyNode proxy, MeshSnapshot snapshot) {
        Config<Sidecar> namespaceWide = null;
        for (Config<Sidecar> sc : snapshot.sidecars()) {
            if (!sc.meta().namespace().equals(proxy.namespace())) {
                continue;
            }
            if (sc.spec().workloadSelector() == null) {
                if (namespaceWide == null) {
                    namespaceWide = sc;
                }
            } else if (Labels.selects(sc.spec().workloadSelector().labels(), proxy.labels())) {
                return sc;
            }
        }
        return namespaceWide;
    }

    private static boolean egressAllows(Config<Sidecar> sc, Service s, String proxyNamespace) {
        if (sc.spec().egress().isEmpty()) {
            return true;
        }
        for (Sidecar.IstioEgressListener l : sc.spec().egress()) {
            for (String h : l.hosts()) {
                int slash = h.indexOf('/');
                String ns = h.substring(0, slash);
                String host = h.substring(slash + 1);
                boolean nsOk = ns.equals("*") || (ns.equals(".") ? s.namespace().equals(proxyNamespace)
                        : ns.equals("~") ? false : ns.equals(s.namespace()));
                if (nsOk && MeshSnapshot.hostMatches(host, s.hostname())) {
                    return true;
                }
            }
        }
        return false;
    }
}
