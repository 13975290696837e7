package io.jmesh.discovery.analysis;

import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.DestinationRule;
import io.jmesh.discovery.config.VirtualService;

/**
 * Istio's {@code virtualservice.DestinationRuleAnalyzer}: a VirtualService destination with a {@code subset}
 * needs a DestinationRule for that host (its namespace, or one exported everywhere) defining the subset, else
 * IST0101 {@code Referenced host+subset in destinationrule not found: "host+subset"}.
 */
public final class DestinationRuleAnalyzer implements Analyzer {

    @Override
    public String name() {
        return "virtualservice.DestinationRuleAnalyzer";
    }

    @Override
    public void analyze(AnalysisContext context) {
        for (Config<?> c : context.configs(ConfigKind.VIRTUAL_SERVICE)) {
            for (VirtualService.Destination d : DestinationHostAnalyzer.destinations(c.spec(VirtualService.class))) {
                if (d.subset() == null || d.subset().isEmpty() || d.host() == null) {
                    continue;
                }
                String host = AnalysisContext.fqdn(d.host(), c.meta().namespace());
                if (!subsetDefined(context, host, d.subset(), c.meta().namespace())) {
                    context.report(MessageType.REFERENCED_RESOURCE_NOT_FOUND, c, "host+subset in destinationrule",
                            MessageType.quote(d.host() + "+" + d.subset()));
                }
            }
        }
    }

    private static boolean subsetDefined(AnalysisContext context, String host, String subset, String namespace) {
        for (Config<?> dr : context.configs(ConfigKind.DESTINATION_RULE)) {
            DestinationRule spec = dr.spec(DestinationRule.class);
            if (spec.host() == null) {
                continue;
            }
            boolean visible = dr.meta().namespace().equals(namespace) || spec.exportTo().isEmpty()
                    || spec.exportTo().contains("*") || spec.exportTo().contains(namespace);
            if (!visible || !AnalysisContext.covers(AnalysisContext.fqdn(spec.host(), dr.meta().namespace()), host)) {
                continue;
            }
            for (DestinationRule.Subset s : spec.subsets()) {
                if (subset.equals(s.name())) {
                    return true;
                }
            }
        }
        return false;
    }
}
