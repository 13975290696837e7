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
 * {@code #index}. Applies to HTTP and TCP rules.
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
                    VirtualService.HTTPMatchRequest::name);
            check(context, c, vs.tcp(), VirtualService.TCPRoute::match, r -> null, m -> null);
        }
    }

    private static <R, M> void check(AnalysisContext context, Config<?> c, List<R> routes,
                                     Function<R, List<M>> matches, Function<R, String> routeName,
                                     Function<M, String> matchName) {
        Map<M, Integer> seen = new HashMap<>();
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
                Integer dup = seen.get(m);
                if (dup != null) {
                    context.report(MessageType.VIRTUAL_SERVICE_INEFFECTIVE_MATCH, c, name(routeName.apply(route), i),
                            name(matchName.apply(m), j), name(routeName.apply(routes.get(dup)), dup));
                    duplicates++;
                } else {
                    seen.put(m, i);
                }
            }
            if (duplicates == ms.size()) {
                context.report(MessageType.VIRTUAL_SERVICE_UNREACHABLE_RULE, c, name(routeName.apply(route), i),
                        "all matches used by prior rules");
            }
        }
    }

    private static String name(String name, int index) {
        return name == null || name.isEmpty() ? "#" + index : name;
    }
}
