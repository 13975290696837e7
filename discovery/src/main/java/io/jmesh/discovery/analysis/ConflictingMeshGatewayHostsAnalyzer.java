package io.jmesh.discovery.analysis;

import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.VirtualService;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Istio's {@code virtualservice.ConflictingMeshGatewayHostsAnalyzer}: two VirtualServices bound to the mesh
 * (no {@code gateways}, or {@code mesh} among them) that name the same host: IST0109 on each of them. Hosts are
 * compared fully qualified; two VirtualServices whose {@code exportTo} share no namespace do not conflict.
 */
public final class ConflictingMeshGatewayHostsAnalyzer implements Analyzer {

    @Override
    public String name() {
        return "virtualservice.ConflictingMeshGatewayHostsAnalyzer";
    }

    @Override
    public void analyze(AnalysisContext context) {
        List<Config<?>> mesh = new ArrayList<>();
        for (Config<?> c : context.configs(ConfigKind.VIRTUAL_SERVICE)) {
            VirtualService vs = c.spec(VirtualService.class);
            if (vs.gateways().isEmpty() || vs.gateways().contains("mesh")) {
                mesh.add(c);
            }
        }
        Map<String, List<Config<?>>> conflicts = new LinkedHashMap<>();
        for (int i = 0; i < mesh.size(); i++) {
            for (int j = i + 1; j < mesh.size(); j++) {
                Config<?> a = mesh.get(i);
                Config<?> b = mesh.get(j);
                if (!visibleTogether(a, b)) {
                    continue;
                }
                for (String host : hosts(a)) {
                    if (hosts(b).contains(host)) {
                        List<Config<?>> list = conflicts.computeIfAbsent(host, k -> new ArrayList<>());
                        for (Config<?> c : List.of(a, b)) {
                            if (!list.contains(c)) {
                                list.add(c);
                            }
                        }
                    }
                }
            }
        }
        for (Map.Entry<String, List<Config<?>>> e : conflicts.entrySet()) {
            String names = String.join(",", e.getValue().stream()
                    .map(v -> v.meta().namespace() + "/" + v.meta().name()).toList());
            for (Config<?> v : e.getValue()) {
                context.report(MessageType.CONFLICTING_MESH_GATEWAY_VIRTUAL_SERVICE_HOSTS, v, names, e.getKey());
            }
        }
    }

    private static List<String> hosts(Config<?> c) {
        return c.spec(VirtualService.class).hosts().stream()
                .map(h -> AnalysisContext.fqdn(h, c.meta().namespace())).toList();
    }

    /** The namespaces {@code c} is exported to; {@code *} for all. */
    private static Set<String> visibility(Config<?> c) {
        List<String> exportTo = c.spec(VirtualService.class).exportTo();
        if (exportTo.isEmpty() || exportTo.contains("*")) {
            return Set.of("*");
        }
        Set<String> out = new HashSet<>();
        for (String e : exportTo) {
            out.add(e.equals(".") ? c.meta().namespace() : e);
        }
        return out;
    }

    private static boolean visibleTogether(Config<?> a, Config<?> b) {
        Set<String> va = visibility(a);
        Set<String> vb = visibility(b);
        if (va.contains("*") || vb.contains("*")) {
            return true;
        }
        return va.stream().anyMatch(vb::contains);
    }
}
