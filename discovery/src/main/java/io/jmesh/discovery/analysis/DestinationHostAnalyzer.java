package io.jmesh.discovery.analysis;

import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.ServiceEntry;
import io.jmesh.discovery.config.VirtualService;
import java.util.ArrayList;
import java.util.List;

/**
 * Istio's {@code virtualservice.DestinationHostAnalyzer}: every destination of a VirtualService route (HTTP, TCP,
 * TLS and mirror) names a host that a ServiceEntry defines, else IST0101 {@code Referenced host not found}.
 * jmesh's registry of services is its ServiceEntries: a Kubernetes Service or a host of an RPC registry
 * ({@code --registry}) is not known here.
 */
public final class DestinationHostAnalyzer implements Analyzer {

    @Override
    public String name() {
        return "virtualservice.DestinationHostAnalyzer";
    }

    @Override
    public void analyze(AnalysisContext context) {
        List<String> known = new ArrayList<>();
        for (Config<?> c : context.configs(ConfigKind.SERVICE_ENTRY)) {
            for (String h : c.spec(ServiceEntry.class).hosts()) {
                known.add(AnalysisContext.fqdn(h, c.meta().namespace()));
            }
        }
        for (Config<?> c : context.configs(ConfigKind.VIRTUAL_SERVICE)) {
            for (VirtualService.Destination d : destinations(c.spec(VirtualService.class))) {
                if (d.host() == null || d.host().isEmpty()) {
                    continue;
                }
                String host = AnalysisContext.fqdn(d.host(), c.meta().namespace());
                if (known.stream().noneMatch(k -> AnalysisContext.covers(k, host))) {
                    context.report(MessageType.REFERENCED_RESOURCE_NOT_FOUND, c, "host", MessageType.quote(d.host()));
                }
            }
        }
    }

    /** Every destination of {@code vs}: HTTP routes and mirrors, TCP and TLS routes, in order. */
    static List<VirtualService.Destination> destinations(VirtualService vs) {
        List<VirtualService.Destination> out = new ArrayList<>();
        for (VirtualService.HTTPRoute r : vs.http()) {
            for (VirtualService.HTTPRouteDestination d : r.route()) {
                if (d.destination() != null) {
                    out.add(d.destination());
                }
            }
            if (r.mirror() != null) {
                out.add(r.mirror());
            }
        }
        for (VirtualService.TCPRoute r : vs.tcp()) {
            for (VirtualService.RouteDestination d : r.route()) {
                if (d.destination() != null) {
                    out.add(d.destination());
                }
            }
        }
        for (VirtualService.TLSRoute r : vs.tls()) {
            for (VirtualService.RouteDestination d : r.route()) {
                if (d.destination() != null) {
                    out.add(d.destination());
                }
            }
        }
        return out;
    }
}
