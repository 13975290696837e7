package io.jmesh.discovery.analysis;

import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.VirtualService;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The rule checks of Istio's VirtualService validation that istioctl analyze reports as messages: a rule after a
 * rule without matches, or whose every match an earlier rule already has, is never used (IST0130); a match that
 * an earlier rule already has is never used (IST0131). Rules and matches are named by their {@code name}, else
 * {@code #index}; matches are compared whole, without their names (Istio's later check of
 * overlapping prefixes is not done). Applies to HTTP, TCP and TLS rules.
 */
public final class VirtualServiceRulesAnalyzer implements Analyzer {

    @Override
    public String name() {
        return "schema.ValidationAnalyzer.VirtualService";
    }

    @Override
    public void analyze(AnalysisContext context) {
        for (Config<?> c : context.configs(ConfigKind.VIRTUAL_SERVICE)) {
            VirtualService vs = c.spec(VirtualService.class);
            check(context, c, vs.http(), VirtualService.HTTPRoute::match, VirtualService.HTTPRoute::name,
                    VirtualService.HTTPMatchRequest::name, VirtualServiceRulesAnalyzer::withoutName);
            check(context, c, vs.tcp(), VirtualService.TCPRoute::match, r -> null, m -> null, m -> m);
            check(context, c, vs.tls(), VirtualService.TLSRoute::match, r -> null, m -> null, m -> m);
        }
    }

    private static <R, M> void check(AnalysisContext context, Config<?> c, List<R> routes,
                                     Function<R, List<M>> matches, Function<R, String> routeName,
                                     Function<M, String> matchName, Function<M, Object> key) {
        Map<Object, Integer> seen = new HashMap<>();
        int emptyMatch = -1;
        for (int i = 0; i < routes.size(); i++) {
            R route = routes.get(i);
            List<M> ms = matches.apply(route);
            if (ms.isEmpty()) {
                if (emptyMatch >= 0) {
                    context.report(MessageType.VIRTUAL_SERVICE_UNREACHABLE_RULE, c, name(routeName.apply(route), i),
                            "only the last rule can have no matches");
                }
                emptyMatch = i;
                continue;
            }
            int duplicates = 0;
            for (int j = 0; j < ms.size(); j++) {
                M m = ms.get(j);
                Integer dup = seen.get(key.apply(m));
                if (dup != null) {
                    context.report(MessageType.VIRTUAL_SERVICE_INEFFECTIVE_MATCH, c, name(routeName.apply(route), i),
                            name(matchName.apply(m), j), name(routeName.apply(routes.get(dup)), dup));
                    duplicates++;
                } else {
                    seen.put(key.apply(m), i);
                }
            }
            if (duplicates == ms.size()) {
                context.report(MessageType.VIRTUAL_SERVICE_UNREACHABLE_RULE, c, name(routeName.apply(route), i),
                        "all matches used by prior rules");
            }
        }
    }

    /** A match without its name: two matches that differ only in name are the same match (as Istio compares). */
    private static Object withoutName(VirtualService.HTTPMatchRequest m) {
        return new VirtualService.HTTPMatchRequest(null, m.uri(), m.scheme(), m.method(), m.authority(), m.headers(),
                m.port(), m.sourceLabels(), m.gateways(), m.queryParams(), m.ignoreUriCase(), m.withoutHeaders(),
                m.sourceNamespace());
    }

    private static String name(String name, int index) {
        return name == null || name.isEmpty() ? "#" + index : name;
    }
}
