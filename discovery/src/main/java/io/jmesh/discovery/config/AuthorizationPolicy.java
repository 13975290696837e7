package io.jmesh.discovery.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The spec of Istio's {@code AuthorizationPolicy} (security.istio.io {@code v1} and {@code v1beta1}): which
 * workloads it selects, its action, and its rules. Lists that the YAML leaves out are empty, except where
 * istiod tells "absent" from "empty": {@link Rule#from()} and {@link Rule#to()} are {@code null} when absent.
 * A list may hold {@code null} elements (a YAML {@code - ~}); validation refuses them with their path.
 *
 * @see <a href="https://istio.io/latest/docs/reference/config/security/authorization-policy/">AuthorizationPolicy</a>
 */
public record AuthorizationPolicy(WorkloadSelector selector, PolicyTargetReference targetRef,
                                  List<PolicyTargetReference> targetRefs, String action, ExtensionProvider provider,
                                  List<Rule> rules) {

    /** The annotation that puts a policy in dry-run: its rules go to the RBAC filter's {@code shadow_rules}. */
    public static final String DRY_RUN_ANNOTATION = "istio.io/dry-run";

    public AuthorizationPolicy {
        targetRefs = copy(targetRefs);
        rules = copy(rules);
        action = action == null || action.isEmpty() ? "ALLOW" : action;
    }

    /** Returns the selector's labels, empty when the policy has no selector (it selects every workload in scope). */
    public Map<String, String> matchLabels() {
        return selector == null ? Map.of() : selector.matchLabels();
    }

    /** {@code selector}: the workloads (by labels) the policy applies to. */
    public record WorkloadSelector(Map<String, String> matchLabels) {
        public WorkloadSelector {
            matchLabels = matchLabels == null ? Map.of() : Collections.unmodifiableMap(new java.util.LinkedHashMap<>(matchLabels));
        }
    }

    /** {@code targetRef}: a Gateway API resource (group, kind, name, optional namespace). */
    public record PolicyTargetReference(String group, String kind, String name, String namespace) {}

    /** {@code provider}: the MeshConfig extension provider of a CUSTOM policy. */
    public record ExtensionProvider(String name) {}

    /** A rule: it matches when one of {@code from}, one of {@code to} and all of {@code when} match. */
    public record Rule(List<From> from, List<To> to, List<Condition> when) {
        public Rule {
            from = from == null ? null : copy(from);
            to = to == null ? null : copy(to);
            when = copy(when);
        }
    }

    /** {@code from}: one source. */
    public record From(Source source) {}

    /** {@code to}: one operation. */
    public record To(Operation operation) {}

    /** {@code source}: peer identity, request identity, namespaces and IP blocks. */
    public record Source(List<String> principals, List<String> notPrincipals, List<String> requestPrincipals,
                         List<String> notRequestPrincipals, List<String> namespaces, List<String> notNamespaces,
                         List<String> serviceAccounts, List<String> notServiceAccounts,
                         List<String> ipBlocks, List<String> notIpBlocks, List<String> remoteIpBlocks,
                         List<String> notRemoteIpBlocks) {
        public Source {
            principals = copy(principals);
            notPrincipals = copy(notPrincipals);
            requestPrincipals = copy(requestPrincipals);
            notRequestPrincipals = copy(notRequestPrincipals);
            namespaces = copy(namespaces);
            notNamespaces = copy(notNamespaces);
            serviceAccounts = copy(serviceAccounts);
            notServiceAccounts = copy(notServiceAccounts);
            ipBlocks = copy(ipBlocks);
            notIpBlocks = copy(notIpBlocks);
            remoteIpBlocks = copy(remoteIpBlocks);
            notRemoteIpBlocks = copy(notRemoteIpBlocks);
        }

        /** Returns whether no field is set (istiod refuses such a source). */
        public boolean isEmpty() {
            return principals.isEmpty() && notPrincipals.isEmpty() && requestPrincipals.isEmpty()
                    && notRequestPrincipals.isEmpty() && namespaces.isEmpty() && notNamespaces.isEmpty()
                    && serviceAccounts.isEmpty() && notServiceAccounts.isEmpty() && ipBlocks.isEmpty()
                    && notIpBlocks.isEmpty() && remoteIpBlocks.isEmpty() && notRemoteIpBlocks.isEmpty();
        }
    }

    /** {@code operation}: hosts, ports, methods and paths of the request. */
    public record Operation(List<String> hosts, List<String> notHosts, List<String> ports, List<String> notPorts,
                            List<String> methods, List<String> notMethods, List<String> paths,
                            List<String> notPaths) {
        public Operation {
            hosts = copy(hosts);
            notHosts = copy(notHosts);
            ports = copy(ports);
            notPorts = copy(notPorts);
            methods = copy(methods);
            notMethods = copy(notMethods);
            paths = copy(paths);
            notPaths = copy(notPaths);
        }

        /** Returns whether no field is set (istiod refuses such an operation). */
        public boolean isEmpty() {
            return hosts.isEmpty() && notHosts.isEmpty() && ports.isEmpty() && notPorts.isEmpty()
                    && methods.isEmpty() && notMethods.isEmpty() && paths.isEmpty() && notPaths.isEmpty();
        }
    }

    /** {@code when}: an attribute {@code key} and the values it must (not) have. */
    public record Condition(String key, List<String> values, List<String> notValues) {
        public Condition {
            values = copy(values);
            notValues = copy(notValues);
        }
    }

    /** An immutable copy that keeps {@code null} elements (for validation to name them). */
    private static <T> List<T> copy(List<T> in) {
        return in == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(in));
    }
}
