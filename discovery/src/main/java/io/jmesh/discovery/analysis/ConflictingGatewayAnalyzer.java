package io.jmesh.discovery.analysis;

import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.Gateway;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Istio's {@code gateway.ConflictingGatewayAnalyzer}: two Gateways with the same workload selector whose servers
 * share a port number and a host (wildcards included): IST0145 on each, naming the other.
 */
public final class ConflictingGatewayAnalyzer implements Analyzer {

    @Override
    public String name() {
        return "gateway.ConflictingGatewayAnalyzer";
    }

    @Override
    public void analyze(AnalysisContext context) {
        List<Config<?>> gateways = context.configs(ConfigKind.GATEWAY);
        for (Config<?> a : gateways) {
            Gateway ga = a.spec(Gateway.class);
            String selector = selector(ga.selector());
            for (Gateway.Server sa : ga.servers()) {
                Integer port = sa.port() == null ? null : sa.port().number();
                if (port == null) {
                    continue;
                }
                List<String> others = new ArrayList<>();
                List<String> hosts = new ArrayList<>();
                for (Config<?> b : gateways) {
                    Gateway gb = b.spec(Gateway.class);
                    if (a == b || !ga.selector().equals(gb.selector())) {
                        continue;
                    }
                    for (Gateway.Server sb : gb.servers()) {
                        if (sb.port() == null || !port.equals(sb.port().number())) {
                            continue;
                        }
                        for (String ha : sa.hosts()) {
                            for (String hb : sb.hosts()) {
                                if (AnalysisContext.hostsMatch(strip(ha), strip(hb))) {
                                    String name = b.meta().namespace() + "/" + b.meta().name();
                                    if (!others.contains(name)) {
                                        others.add(name);
                                    }
                                    if (!hosts.contains(ha)) {
                                        hosts.add(ha);
                                    }
                                }
                            }
                        }
                    }
                }
                if (!others.isEmpty()) {
                    context.report(MessageType.CONFLICTING_GATEWAYS, a, String.join(",", others), selector,
                            port.toString(), String.join(",", hosts));
                }
            }
        }
    }

    private static String selector(Map<String, String> labels) {
        List<String> parts = new ArrayList<>();
        new TreeMap<>(labels).forEach((k, v) -> parts.add(k + "=" + v));
        return String.join(",", parts);
    }

    private static String strip(String host) {
        return host.contains("/") ? host.substring(host.indexOf('/') + 1) : host;
    }
}
