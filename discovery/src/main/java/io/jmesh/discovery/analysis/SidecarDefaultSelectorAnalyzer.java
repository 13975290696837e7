package io.jmesh.discovery.analysis;

import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.Sidecar;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Istio's {@code sidecar.DefaultSelectorAnalyzer}: more than one Sidecar without {@code workloadSelector} in a
 * namespace leaves undefined which one applies: IST0111 on each of them.
 */
public final class SidecarDefaultSelectorAnalyzer implements Analyzer {

    @Override
    public String name() {
        return "sidecar.DefaultSelectorAnalyzer";
    }

    @Override
    public void analyze(AnalysisContext context) {
        Map<String, List<Config<?>>> byNamespace = new LinkedHashMap<>();
        for (Config<?> c : context.configs(ConfigKind.SIDECAR)) {
            if (c.spec(Sidecar.class).workloadSelector() == null) {
                byNamespace.computeIfAbsent(c.meta().namespace(), k -> new ArrayList<>()).add(c);
            }
        }
        for (Map.Entry<String, List<Config<?>>> e : byNamespace.entrySet()) {
            if (e.getValue().size() < 2) {
                continue;
            }
            String names = "[" + String.join(" ", e.getValue().stream().map(c -> c.meta().name()).toList()) + "]";
            for (Config<?> c : e.getValue()) {
                context.report(MessageType.MULTIPLE_SIDECARS_WITHOUT_WORKLOAD_SELECTORS, c, names,
                        MessageType.quote(e.getKey()));
            }
        }
    }
}
