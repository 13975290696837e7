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
 * For a host found, a route destination (not a mirror) needs a {@code port} when the ServiceEntry has more than one
 * port (IST0112), and its port must be one of the ServiceEntry's (IST0101 {@code host:port}). jmesh's registry of
 * services is its ServiceEntries: a Kubernetes Service or a host of an RPC registry ({@code --registry}) is not
 * known here.
 */
public final class DestinationHostAnalyzer implements Analyzer {

    @Override
    public String name() {
        return "virtualservice.DestinationHostAnalyzer";
    }

    @Override
    public void analyze(AnalysisContext context) {
        List<Config<?>> entries = context.configs(ConfigKind.SERVICE_ENTRY);
        for (Config<?> c : context.configs(ConfigKind.VIRTUAL_SERVICE)) {
            VirtualService vs = c.spec(VirtualService.class);
            List<VirtualService.Destination> routed = routeDestinations(vs);
            for (VirtualService.Destination d : destinations(vs)) {
                if (d.host() == null || d.host().isEmpty()) {
                    continue;
                }
                String host = AnalysisContext.fqdn(d.host(), c.meta().namespace());
                ServiceEntry se = find(entries, host);
                if (se == null) {
                    context.report(MessageType.REFERENCED_RESOURCE_NOT_FOUND, c, "host", MessageType.quote(d.host()));
                    continue;
                }
                if (!routed.contains(d)) {
                    continue;
                }
                List<Integer> ports = se.ports().stream().map(ServiceEntry.Port::number).toList();
                if (d.port() == null || d.port().number() == null) {
                    if (ports.size() > 1) {
                        context.report(MessageType.VIRTUAL_SERVICE_DESTINATION_PORT_SELECTOR_REQUIRED, c,
                                MessageType.quote(d.host()), "[" + String.join(" ",
                                        ports.stream().map(String::valueOf).toList()) + "]");
                    }
                } else if (!ports.contains(d.port().number())) {
                    context.report(MessageType.REFERENCED_RESOURCE_NOT_FOUND, c, "host:port",
                            MessageType.quote(d.host() + ":" + d.port().number()));
                }
            }
        }
    }

    private static ServiceEntry find(List<Config<?>> entries, String host) {
        for (Config<?> c : entries) {
            for (String h : c.spec(ServiceEntry.class).hosts()) {
                if (AnalysisContext.covers(AnalysisContext.fqdn(h, c.meta().namespace()), host)) {
                    return c.spec(ServiceEntry.class);
                }
            }
        }
        return null;
    }

    /** The destinations of routes (HTTP, TCP, TLS), without mirrors. */
    static List<VirtualService.Destination> routeDestinations(VirtualService vs) {
        List<VirtualService.Destination> out = new ArrayList<>();
        for (VirtualService.HTTPRoute r : vs.http()) {
            for (VirtualService.HTTPRouteDestination d : r.route()) {
                if (d.destination() != null) {
                    out.add(d.destination());
                }
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
