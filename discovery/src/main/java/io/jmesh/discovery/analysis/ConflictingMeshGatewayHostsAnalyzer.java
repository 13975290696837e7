package io.jmesh.discovery.analysis;

import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.VirtualService;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Istio's {@code virtualservice.ConflictingMeshGatewayHostsAnalyzer}: two VirtualServices bound to the mesh
 * (no {@code gateways}, or {@code mesh} among them) that name the same host: IST0109 on each of them. Hosts are
 * compared fully qualified, per namespace the VirtualService is visible in ({@code exportTo}).
 */
public final class ConflictingMeshGatewayHostsAnalyzer implements Analyzer {

    @Override
    public String name() {
        return "virtualservice.ConflictingMeshGatewayHostsAnalyzer";
    }

    @Override
    public void analyze(AnalysisContext context) {
        Map<String, List<Config<?>>> byHost = new LinkedHashMap<>();
        for (Config<?> c : context.configs(ConfigKind.VIRTUAL_SERVICE)) {
            VirtualService vs = c.spec(VirtualService.class);
            if (!vs.gateways().isEmpty() && !vs.gateways().contains("mesh")) {
                continue;
            }
            String scope = vs.exportTo().isEmpty() || vs.exportTo().contains("*") ? "*"
                    : String.join(",", vs.exportTo().stream()
                            .map(e -> e.equals(".") ? c.meta().namespace() : e).sorted().toList());
            for (String h : vs.hosts()) {
                String host = AnalysisContext.fqdn(h, c.meta().namespace());
                List<Config<?>> list = byHost.computeIfAbsent(scope + "|" + host, k -> new ArrayList<>());
                if (!list.contains(c)) {
                    list.add(c);
                }
            }
        }
        for (Map.Entry<String, List<Config<?>>> e : byHost.entrySet()) {
            List<Config<?>> vss = e.getValue();
            if (vss.size() < 2) {
                continue;
            }
            String names = String.join(",", vss.stream()
                    .map(v -> v.meta().namespace() + "/" + v.meta().name()).toList());
            String host = e.getKey().substring(e.getKey().indexOf('|') + 1);
            for (Config<?> v : vss) {
                context.report(MessageType.CONFLICTING_MESH_GATEWAY_VIRTUAL_SERVICE_HOSTS, v, names, host);
            }
        }
    }
}
