package io.jmesh.discovery.analysis;

import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.Gateway;
import io.jmesh.discovery.config.VirtualService;

/**
 * Istio's {@code virtualservice.GatewayAnalyzer}: each gateway in a VirtualService's {@code gateways} other than
 * {@code mesh} must exist, else IST0101 {@code Referenced gateway not found: "name"}; and at least one of the
 * VirtualService's hosts must be among the gateway's server hosts visible to the VirtualService's namespace
 * ({@code host}, {@code ns/host}, {@code ./host}, {@code *\/host}), else IST0132 (also when the gateway is missing,
 * as Istio reports). A gateway name is {@code namespace/name}, or a name in the VirtualService's namespace.
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
            for (String ref : vs.gateways()) {
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
                }
                if (gw == null || !hostInGateway(gw, vs, c.meta().namespace())) {
                    context.report(MessageType.VIRTUAL_SERVICE_HOST_NOT_FOUND_IN_GATEWAY, c,
                            "[" + String.join(" ", vs.hosts()) + "]", c.meta().namespace() + "/" + c.meta().name(),
                            ns + "/" + name);
                }
            }
        }
    }

    private static Config<?> find(AnalysisContext context, String namespace, String name) {
        for (Config<?> g : context.configs(ConfigKind.GATEWAY)) {
            if (g.meta().namespace().equals(namespace) && g.meta().name().equals(name)) {
                return g;
            }
        }
        return null;
    }

    private static boolean hostInGateway(Config<?> gw, VirtualService vs, String vsNamespace) {
        for (Gateway.Server s : gw.spec(Gateway.class).servers()) {
            for (String h : s.hosts()) {
                String gwHost = h;
                int slash = h.indexOf('/');
                if (slash >= 0) {
                    String ns = h.substring(0, slash);
                    if (ns.equals(".")) {
                        ns = gw.meta().namespace();
                    }
                    if (!ns.equals("*") && !ns.equals(vsNamespace)) {
                        continue;
                    }
                    gwHost = h.substring(slash + 1);
                }
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
