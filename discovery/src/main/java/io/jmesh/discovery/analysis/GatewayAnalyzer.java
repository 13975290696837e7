package io.jmesh.discovery.analysis;

import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.Gateway;
import io.jmesh.discovery.config.VirtualService;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Istio's {@code virtualservice.GatewayAnalyzer}: each gateway a VirtualService names ({@code gateways}, and
 * {@code gateways} of its matches) other than {@code mesh} must exist, else IST0101
 * {@code Referenced gateway not found: "name"}; and at least one of the VirtualService's hosts must be among the
 * gateway's server hosts, else IST0132. A gateway name is {@code namespace/name}, or a name in the
 * VirtualService's namespace.
 */
public final class GatewayAnalyzer implements Analyzer {

    @Override
    public String name() {
        return "virtualservice.GatewayAnalyzer";
    }

    @Override
    public void analyze(AnalysisContext context) {
        for (Config<?> c : context.configs(ConfigKind.VIRTUAL_SERVICE)) {
            VirtualService vs = c.spec(VirtualService.class);
            for (String ref : references(vs)) {
                if (ref.equals("mesh")) {
                    continue;
                }
                String ns = c.meta().namespace();
                String name = ref;
                int slash = ref.indexOf('/');
                if (slash >= 0) {
                    ns = ref.substring(0, slash);
                    name = ref.substring(slash + 1);
                } else if (ref.contains(".")) {
                    // The old form name.namespace (Istio still reads it).
                    ns = ref.substring(ref.indexOf('.') + 1);
                    name = ref.substring(0, ref.indexOf('.'));
                }
                Config<?> gw = find(context, ns, name);
                if (gw == null) {
                    context.report(MessageType.REFERENCED_RESOURCE_NOT_FOUND, c, "gateway", MessageType.quote(ref));
                } else if (!vs.hosts().isEmpty() && !hostInGateway(gw.spec(Gateway.class), vs)) {
                    context.report(MessageType.VIRTUAL_SERVICE_HOST_NOT_FOUND_IN_GATEWAY, c,
                            "[" + String.join(" ", vs.hosts()) + "]", c.meta().namespace() + "/" + c.meta().name(),
                            ns + "/" + name);
                }
            }
        }
    }

    private static Set<String> references(VirtualService vs) {
        Set<String> refs = new LinkedHashSet<>(vs.gateways());
        for (VirtualService.HTTPRoute r : vs.http()) {
            for (VirtualService.HTTPMatchRequest m : r.match()) {
                refs.addAll(m.gateways());
            }
        }
        for (VirtualService.TCPRoute r : vs.tcp()) {
            for (VirtualService.L4MatchAttributes m : r.match()) {
                if (m.gateways() != null) {
                    refs.addAll(m.gateways());
                }
            }
        }
        for (VirtualService.TLSRoute r : vs.tls()) {
            for (VirtualService.TLSMatchAttributes m : r.match()) {
                if (m.gateways() != null) {
                    refs.addAll(m.gateways());
                }
            }
        }
        return refs;
    }

    private static Config<?> find(AnalysisContext context, String namespace, String name) {
        for (Config<?> g : context.configs(ConfigKind.GATEWAY)) {
            if (g.meta().namespace().equals(namespace) && g.meta().name().equals(name)) {
                return g;
            }
        }
        return null;
    }

    private static boolean hostInGateway(Gateway gateway, VirtualService vs) {
        for (Gateway.Server s : gateway.servers()) {
            for (String h : s.hosts()) {
                String gwHost = h.contains("/") ? h.substring(h.indexOf('/') + 1) : h;
                for (String vsHost : vs.hosts()) {
                    if (AnalysisContext.hostsMatch(gwHost, vsHost)) {
                        return true;
                    }
                }
            }
        }
        return false;
    }
}
