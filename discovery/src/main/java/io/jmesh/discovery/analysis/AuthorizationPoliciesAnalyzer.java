package io.jmesh.discovery.analysis;

import io.jmesh.discovery.config.AuthorizationPolicy;
import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.Labels;
import io.jmesh.discovery.config.ServiceEntry;
import io.jmesh.discovery.config.WorkloadEntry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Istio's {@code auth.AuthorizationPoliciesAnalyzer}, over the workloads and namespaces the analyzed objects
 * declare (jmesh has no Pods or Namespace objects):
 * <ul>
 *   <li>IST0127 NoMatchingWorkloadsFound: a policy whose {@code selector} matches no workload (WorkloadEntry or
 *       ServiceEntry endpoint) of its namespace, or of the whole mesh for a policy in the root namespace
 *       ({@code istio-system}); a namespace-wide policy (no selector) in a namespace without workloads. When the
 *       objects declare no workload at all (workloads come from a registry), this check is skipped rather than
 *       flag every policy.</li>
 *   <li>IST0101 ReferencedResourceNotFound: a {@code source.namespaces} or {@code notNamespaces} value (exact,
 *       {@code prefix*}, {@code *suffix} or {@code *}) that names no namespace any analyzed object lives in.</li>
 * </ul>
 */
public final class AuthorizationPoliciesAnalyzer implements Analyzer {

    /** MeshConfig's default {@code rootNamespace}. */
    static final String ROOT_NAMESPACE = "istio-system";

    @Override
    public String name() {
        return "auth.AuthorizationPoliciesAnalyzer";
    }

    @Override
    public void analyze(AnalysisContext context) {
        Map<String, List<Map<String, String>>> workloads = new HashMap<>();
        for (Config<?> c : context.configs(ConfigKind.WORKLOAD_ENTRY)) {
            workloads.computeIfAbsent(c.meta().namespace(), k -> new ArrayList<>())
                    .add(c.spec(WorkloadEntry.class).labels());
        }
        for (Config<?> c : context.configs(ConfigKind.SERVICE_ENTRY)) {
            for (WorkloadEntry e : c.spec(ServiceEntry.class).endpoints()) {
                workloads.computeIfAbsent(c.meta().namespace(), k -> new ArrayList<>()).add(e.labels());
            }
        }
        Set<String> namespaces = new TreeSet<>();
        for (Config<?> c : context.configs()) {
            namespaces.add(c.meta().namespace());
        }
        for (Config<?> c : context.configs(ConfigKind.AUTHORIZATION_POLICY)) {
            AuthorizationPolicy ap = c.spec(AuthorizationPolicy.class);
            if (!workloads.isEmpty()) {
                noMatchingWorkloads(context, c, ap, workloads);
            }
            namespacesNotFound(context, c, ap, namespaces);
        }
    }

    private static void noMatchingWorkloads(AnalysisContext context, Config<?> c, AuthorizationPolicy ap,
                                            Map<String, List<Map<String, String>>> workloads) {
        if (ap.targetRef() != null || !ap.targetRefs().isEmpty()) {
            return; // attached to a gateway or service, not selecting workloads
        }
        String ns = c.meta().namespace();
        Map<String, String> selector = ap.selector() == null ? null : ap.selector().matchLabels();
        if (ns.equals(ROOT_NAMESPACE)) {
            if (selector != null && workloads.values().stream().noneMatch(l -> anyMatches(selector, l))) {
                context.report(MessageType.NO_MATCHING_WORKLOADS_FOUND, c, selectorString(selector));
            }
            return;
        }
        List<Map<String, String>> here = workloads.getOrDefault(ns, List.of());
        if (selector == null) {
            if (here.isEmpty()) {
                context.report(MessageType.NO_MATCHING_WORKLOADS_FOUND, c, "");
            }
            return;
        }
        if (!anyMatches(selector, here)) {
            context.report(MessageType.NO_MATCHING_WORKLOADS_FOUND, c, selectorString(selector));
        }
    }

    private static boolean anyMatches(Map<String, String> selector, List<Map<String, String>> labelSets) {
        for (Map<String, String> labels : labelSets) {
            if (Labels.selects(selector, labels)) {
                return true;
            }
        }
        return false;
    }

    /** As Kubernetes prints a label selector: {@code k1=v1,k2=v2}, sorted by key. */
    private static String selectorString(Map<String, String> selector) {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, String> e : new TreeMap<>(selector).entrySet()) {
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(e.getKey()).append('=').append(e.getValue());
        }
        return sb.toString();
    }

    private static void namespacesNotFound(AnalysisContext context, Config<?> c, AuthorizationPolicy ap,
                                           Set<String> namespaces) {
        for (AuthorizationPolicy.Rule rule : ap.rules()) {
            if (rule == null || rule.from() == null) {
                continue;
            }
            for (AuthorizationPolicy.From from : rule.from()) {
                if (from == null || from.source() == null) {
                    continue;
                }
                List<String> all = new ArrayList<>(from.source().namespaces());
                all.addAll(from.source().notNamespaces());
                for (String exp : all) {
                    if (namespaces.stream().noneMatch(ns -> namespaceMatch(ns, exp))) {
                        context.report(MessageType.REFERENCED_RESOURCE_NOT_FOUND, c, "namespace", MessageType.quote(exp));
                    }
                }
            }
        }
    }

    /** Istio's {@code namespaceMatch}: {@code *}, {@code *suffix}, {@code prefix*} or the name (any case). */
    static boolean namespaceMatch(String ns, String exp) {
        if (exp.equals("*")) {
            return true;
        }
        if (exp.startsWith("*")) {
            return ns.endsWith(exp.substring(1));
        }
        if (exp.endsWith("*")) {
            return ns.startsWith(exp.substring(0, exp.length() - 1));
        }
        return ns.toLowerCase(Locale.ROOT).equals(exp.toLowerCase(Locale.ROOT));
    }
}
