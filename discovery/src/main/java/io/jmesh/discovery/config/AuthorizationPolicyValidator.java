package io.jmesh.discovery.config;

import io.jmesh.proxy.config.ConfigException;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Validates an {@link AuthorizationPolicy} as istiod's webhook does ({@code pkg/config/validation}
 * {@code ValidateAuthorizationPolicy} and {@code pkg/config/security} {@code ValidateAttribute}): each problem
 * is {@code spec.field.path: value (expected: ...)} with istiod's own reason in the {@code expected} part, and,
 * as istiod does, every problem of the policy is reported in one {@link ConfigException} (joined by
 * {@code "; "}). Stateless.
 */
public final class AuthorizationPolicyValidator {

    static final Set<String> ACTIONS = Set.of("ALLOW", "DENY", "AUDIT", "CUSTOM");

    private AuthorizationPolicyValidator() {}

    static void validate(AuthorizationPolicy ap) throws ConfigException {
        ValidationErrors errs = new ValidationErrors();
        errs.check(() -> validateSelector(ap.selector()));
        if (ap.selector() != null && (ap.targetRef() != null || !ap.targetRefs().isEmpty())) {
            errs.add("spec.targetRef: set with selector (expected: only one of targetRefs or selector)");
        }
        if (ap.targetRef() != null && !ap.targetRefs().isEmpty()) {
            errs.add("spec.targetRef: set with targetRefs (expected: only one of targetRef or targetRefs)");
        }
        for (int i = 0; i < ap.targetRefs().size(); i++) {
            int n = i;
            errs.check(() -> validateTargetRef(ap.targetRefs().get(n), "spec.targetRefs[" + n + "]"));
        }
        if (ap.targetRef() != null) {
            errs.check(() -> validateTargetRef(ap.targetRef(), "spec.targetRef"));
        }
        String action = ap.action();
        if (!ACTIONS.contains(action)) {
            errs.add("spec.action: " + action + " (expected: ALLOW, DENY, AUDIT or CUSTOM)");
        }
        boolean noRules = ap.rules().isEmpty();
        if ("CUSTOM".equals(action)) {
            if (noRules) {
                errs.add("spec.rules: [] (expected: rules; CUSTOM action without `rules` is "
                        + "meaningless as it will never be triggered, add an empty rule `{}` if you want it be "
                        + "triggered for every request)");
            }
            if (ap.provider() == null || ap.provider().name() == null || ap.provider().name().isEmpty()) {
                errs.add("spec.provider.name: missing (expected: `provider.name` must not be empty)");
            }
        } else if (ap.provider() != null) {
            errs.add("spec.provider: " + ap.provider().name()
                    + " (expected: `provider` must not be with non CUSTOM action, found " + action + ")");
        }
        if ("DENY".equals(action) && noRules) {
            errs.add("spec.rules: [] (expected: rules; DENY action without `rules` is meaningless "
                    + "as it will never be triggered, add an empty rule `{}` if you want it be triggered for every "
                    + "request)");
        }
        for (int i = 0; i < ap.rules().size(); i++) {
            int n = i;
            errs.check(() -> validateRule(ap.rules().get(n), n, action));
        }
        errs.throwIfAny();
    }

    private static void validateSelector(AuthorizationPolicy.WorkloadSelector selector) throws ConfigException {
        if (selector == null) {
            return;
        }
        for (Map.Entry<String, String> e : selector.matchLabels().entrySet()) {
            String k = e.getKey();
            String v = e.getValue() == null ? "" : e.getValue();
            if (k.isEmpty()) {
                throw new ConfigException("spec.selector.matchLabels: \"=" + v
                        + "\" (expected: empty key is not supported in selector)");
            }
            if (k.contains("*") || v.contains("*")) {
                throw new ConfigException("spec.selector.matchLabels." + k + ": " + v
                        + " (expected: wildcard is not supported in selector)");
            }
        }
    }

    private static void validateTargetRef(AuthorizationPolicy.PolicyTargetReference ref, String path)
            throws ConfigException {
        if (ref == null) {
            throw new ConfigException(path + ": null (expected: a target reference)");
        }
        RequestAuthenticationValidator.targetRef(ref.group(), ref.kind(), ref.name(), ref.namespace(), path);
    }

    private static void validateRule(AuthorizationPolicy.Rule rule, int i, String action) throws ConfigException {
        String path = "spec.rules[" + i + "]";
        if (rule == null) {
            throw new ConfigException(path + ": null (expected: `rule` must not be nil, found at rule " + i + ")");
        }
        ValidationErrors errs = new ValidationErrors();
        if (rule.from() != null && rule.from().isEmpty()) {
            errs.add(path + ".from: [] (expected: `from` must not be empty, found at rule " + i + ")");
        }
        if (rule.from() != null) {
            for (int j = 0; j < rule.from().size(); j++) {
                int n = j;
                errs.check(() -> validateFrom(rule.from().get(n), path + ".from[" + n + "]", i, action));
            }
        }
        if (rule.to() != null && rule.to().isEmpty()) {
            errs.add(path + ".to: [] (expected: `to` must not be empty, found at rule " + i + ")");
        }
        if (rule.to() != null) {
            for (int j = 0; j < rule.to().size(); j++) {
                int n = j;
                errs.check(() -> validateTo(rule.to().get(n), path + ".to[" + n + "]", i));
            }
        }
        for (int j = 0; j < rule.when().size(); j++) {
            int n = j;
            errs.check(() -> validateCondition(rule.when().get(n), path + ".when[" + n + "]", action));
        }
        errs.throwIfAny();
    }

    private static void validateFrom(AuthorizationPolicy.From from, String path, int i, String action)
            throws ConfigException {
        if (from == null) {
            throw new ConfigException(path + ": null (expected: `from` must not be nil, found at rule " + i + ")");
        }
        AuthorizationPolicy.Source src = from.source();
        if (src == null) {
            throw new ConfigException(path + ".source: missing (expected: `from.source` must not be nil, found at rule "
                    + i + ")");
        }
        String sp = path + ".source";
        if (src.isEmpty()) {
            throw new ConfigException(sp + ": {} (expected: `from.source` must not be empty, found at rule " + i + ")");
        }
        ValidationErrors errs = new ValidationErrors();
        if (src.principals().size() + src.notPrincipals().size() + src.namespaces().size()
                + src.notNamespaces().size() > 0
                && src.serviceAccounts().size() + src.notServiceAccounts().size() > 0) {
            errs.add(sp + ".serviceAccounts: " + src.serviceAccounts()
                    + " (expected: cannot set serviceAccounts with namespaces or principals, found at rule " + i + ")");
        }
        if ("CUSTOM".equals(action)) {
            errs.check(() -> notWithCustom(src.namespaces(), sp + ".namespaces", "From.Namespaces"));
            errs.check(() -> notWithCustom(src.notNamespaces(), sp + ".notNamespaces", "From.NotNamespaces"));
            errs.check(() -> notWithCustom(src.serviceAccounts(), sp + ".serviceAccounts", "From.ServiceAccounts"));
            errs.check(() -> notWithCustom(src.notServiceAccounts(), sp + ".notServiceAccounts",
                    "From.NotServiceAccounts"));
            errs.check(() -> notWithCustom(src.principals(), sp + ".principals", "From.Principals"));
            errs.check(() -> notWithCustom(src.notPrincipals(), sp + ".notPrincipals", "From.NotPrincipals"));
            errs.check(() -> notWithCustom(src.requestPrincipals(), sp + ".requestPrincipals", "From.RequestPrincipals"));
            errs.check(() -> notWithCustom(src.notRequestPrincipals(), sp + ".notRequestPrincipals",
                    "From.NotRequestPrincipals"));
        }
        errs.check(() -> validateIps(src.ipBlocks(), sp + ".ipBlocks"));
        errs.check(() -> validateIps(src.notIpBlocks(), sp + ".notIpBlocks"));
        errs.check(() -> validateIps(src.remoteIpBlocks(), sp + ".remoteIpBlocks"));
        errs.check(() -> validateIps(src.notRemoteIpBlocks(), sp + ".notRemoteIpBlocks"));
        errs.check(() -> checkEmptyValues(src.principals(), sp + ".principals", "Principals"));
        errs.check(() -> checkEmptyValues(src.requestPrincipals(), sp + ".requestPrincipals", "RequestPrincipals"));
        errs.check(() -> checkEmptyValues(src.namespaces(), sp + ".namespaces", "Namespaces"));
        errs.check(() -> checkEmptyValues(src.serviceAccounts(), sp + ".serviceAccounts", "ServiceAccounts"));
        errs.check(() -> checkEmptyValues(src.notPrincipals(), sp + ".notPrincipals", "NotPrincipals"));
        errs.check(() -> checkEmptyValues(src.notRequestPrincipals(), sp + ".notRequestPrincipals",
                "NotRequestPrincipals"));
        errs.check(() -> checkEmptyValues(src.notNamespaces(), sp + ".notNamespaces", "NotNamespaces"));
        errs.check(() -> checkEmptyValues(src.notServiceAccounts(), sp + ".notServiceAccounts", "NotServiceAccounts"));
        errs.check(() -> validateWildcards(src.principals(), sp + ".principals"));
        errs.check(() -> validateWildcards(src.notPrincipals(), sp + ".notPrincipals"));
        errs.check(() -> validateWildcards(src.requestPrincipals(), sp + ".requestPrincipals"));
        errs.check(() -> validateWildcards(src.notRequestPrincipals(), sp + ".notRequestPrincipals"));
        for (int k = 0; k < src.serviceAccounts().size(); k++) {
            int n = k;
            errs.check(() -> validateServiceAccount(src.serviceAccounts().get(n), sp + ".serviceAccounts[" + n + "]"));
        }
        for (int k = 0; k < src.notServiceAccounts().size(); k++) {
            int n = k;
            errs.check(() -> validateServiceAccount(src.notServiceAccounts().get(n),
                    sp + ".notServiceAccounts[" + n + "]"));
        }
        errs.throwIfAny();
    }

    private static void validateTo(AuthorizationPolicy.To to, String path, int i) throws ConfigException {
        if (to == null) {
            throw new ConfigException(path + ": null (expected: `to` must not be nil, found at rule " + i + ")");
        }
        AuthorizationPolicy.Operation op = to.operation();
        if (op == null) {
            throw new ConfigException(path + ".operation: missing (expected: `to.operation` must not be nil, found at rule "
                    + i + ")");
        }
        String op0 = path + ".operation";
        if (op.isEmpty()) {
            throw new ConfigException(op0 + ": {} (expected: `to.operation` must not be empty, found at rule " + i + ")");
        }
        ValidationErrors errs = new ValidationErrors();
        errs.check(() -> validatePorts(op.ports(), op0 + ".ports"));
        errs.check(() -> validatePorts(op.notPorts(), op0 + ".notPorts"));
        errs.check(() -> checkEmptyValues(op.methods(), op0 + ".methods", "Methods"));
        errs.check(() -> checkEmptyValues(op.paths(), op0 + ".paths", "Paths"));
        errs.check(() -> checkEmptyValues(op.hosts(), op0 + ".hosts", "Hosts"));
        errs.check(() -> checkEmptyValues(op.notMethods(), op0 + ".notMethods", "NotMethods"));
        errs.check(() -> checkEmptyValues(op.notPaths(), op0 + ".notPaths", "NotPaths"));
        errs.check(() -> checkEmptyValues(op.notHosts(), op0 + ".notHosts", "NotHosts"));
        errs.check(() -> validatePaths(op.paths(), op0 + ".paths"));
        errs.check(() -> validatePaths(op.notPaths(), op0 + ".notPaths"));
        errs.check(() -> validateWildcards(op.hosts(), op0 + ".hosts"));
        errs.check(() -> validateWildcards(op.notHosts(), op0 + ".notHosts"));
        errs.check(() -> validateWildcards(op.methods(), op0 + ".methods"));
        errs.check(() -> validateWildcards(op.notMethods(), op0 + ".notMethods"));
        errs.throwIfAny();
    }

    private static void validateCondition(AuthorizationPolicy.Condition c, String path, String action)
            throws ConfigException {
        if (c == null) {
            throw new ConfigException(path + ": null (expected: `condition` must not be nil)");
        }
        String key = c.key();
        if (key == null || key.isEmpty()) {
            throw new ConfigException(path + ".key: missing (expected: `key` must not be empty)");
        }
        if (c.values().isEmpty() && c.notValues().isEmpty()) {
            throw new ConfigException(path + ": " + key
                    + " (expected: at least one of `values` or `notValues` must be set for key " + key + ")");
        }
        ValidationErrors errs = new ValidationErrors();
        if ("CUSTOM".equals(action) && (key.equals("source.namespace") || key.equals("source.principal")
                || key.equals("source.serviceAccount") || key.startsWith("request.auth."))) {
            errs.add(path + ".key: " + key + " (expected: " + key
                    + " is currently not supported with CUSTOM action)");
        }
        errs.check(() -> validateAttribute(key, c.values(), path + ".values", "value"));
        errs.check(() -> validateAttribute(key, c.notValues(), path + ".notValues", "notValue"));
        errs.throwIfAny();
    }

    /** istiod's {@code ValidateAttribute}: a known key, and values of the form that key takes. */
    static void validateAttribute(String key, List<String> values, String path, String what) throws ConfigException {
        String prefix = "invalid `" + what + "` for `key` " + key + ": ";
        if (key.startsWith("request.headers")) {
            validateBracketed(key, "request.headers", path, prefix);
            checkEmptyValuesAttr(values, path, prefix);
        } else if (key.equals("source.ip") || key.equals("remote.ip") || key.equals("destination.ip")) {
            validateIpsAttr(values, path, prefix);
        } else if (key.equals("source.namespace") || key.equals("source.principal")
                || key.equals("source.serviceAccount") || key.equals("request.auth.principal")
                || key.equals("request.auth.audiences") || key.equals("request.auth.presenter")
                || key.equals("connection.sni")) {
            checkEmptyValuesAttr(values, path, prefix);
        } else if (key.startsWith("request.auth.claims")) {
            validateBracketed(key, "request.auth.claims", path, prefix);
            checkEmptyValuesAttr(values, path, prefix);
        } else if (key.equals("destination.port")) {
            for (int i = 0; i < values.size(); i++) {
                String v = values.get(i);
                if (!isPort(v)) {
                    throw new ConfigException(path + "[" + i + "]: " + v + " (expected: " + prefix
                            + "invalid port " + v + ", a number in 0..65535)");
                }
            }
        } else if (key.startsWith("experimental.envoy.filters.")) {
            String rest = key.substring("experimental.".length());
            int open = rest.indexOf('[');
            if (open <= 0 || !rest.endsWith("]") || open + 2 > rest.length() - 1) {
                throw new ConfigException(path.substring(0, path.lastIndexOf('.')) + ".key: " + key
                        + " (expected: experimental.envoy.filters.<filter>[<key>])");
            }
        } else {
            throw new ConfigException(path.substring(0, path.lastIndexOf('.')) + ".key: " + key
                    + " (expected: a supported attribute; unknown attribute: " + key + ")");
        }
    }

    private static void validateBracketed(String key, String attr, String path, String prefix) throws ConfigException {
        String rest = key.substring(attr.length());
        if (!rest.startsWith("[") || !rest.endsWith("]") || rest.length() <= 2) {
            throw new ConfigException(path.substring(0, path.lastIndexOf('.')) + ".key: " + key
                    + " (expected: " + attr + "[<name>]; bad format for key " + key + ")");
        }
    }

    private static void notWithCustom(List<String> values, String path, String name) throws ConfigException {
        if (!values.isEmpty()) {
            throw new ConfigException(path + ": " + values + " (expected: " + name
                    + " is currently not supported with CUSTOM action)");
        }
    }

    private static void checkEmptyValues(List<String> values, String path, String name) throws ConfigException {
        for (int i = 0; i < values.size(); i++) {
            if (values.get(i) == null || values.get(i).isEmpty()) {
                throw new ConfigException(path + "[" + i + "]: \"\" (expected: empty value not allowed, found in "
                        + name + ")");
            }
        }
    }

    private static void checkEmptyValuesAttr(List<String> values, String path, String prefix) throws ConfigException {
        for (int i = 0; i < values.size(); i++) {
            if (values.get(i) == null || values.get(i).isEmpty()) {
                throw new ConfigException(path + "[" + i + "]: \"\" (expected: " + prefix + "empty value not allowed)");
            }
        }
    }

    private static void validateIps(List<String> values, String path) throws ConfigException {
        validateIpsAttr(values, path, "");
    }

    private static void validateIpsAttr(List<String> values, String path, String prefix) throws ConfigException {
        for (int i = 0; i < values.size(); i++) {
            String v = values.get(i);
            if (cidr(v) == null) {
                throw new ConfigException(path + "[" + i + "]: " + v + " (expected: " + prefix
                        + "an IP address or CIDR range)");
            }
        }
    }

    private static void validatePorts(List<String> values, String path) throws ConfigException {
        for (int i = 0; i < values.size(); i++) {
            String v = values.get(i);
            if (!isPort(v)) {
                throw new ConfigException(path + "[" + i + "]: " + v + " (expected: a port number in 0..65535)");
            }
        }
    }

    /** Wildcards are supported as a prefix, a suffix, or the whole value ({@code *}), as Istio documents. */
    private static void validateWildcards(List<String> values, String path) throws ConfigException {
        for (int i = 0; i < values.size(); i++) {
            String v = values.get(i);
            if (v == null || v.length() < 2) {
                continue;
            }
            String inner = v.substring(1, v.length() - 1);
            if (inner.contains("*")) {
                throw new ConfigException(path + "[" + i + "]: " + v
                        + " (expected: a wildcard only as prefix, suffix or the whole value)");
            }
        }
    }

    /**
     * Paths: Istio's prefix/suffix/presence wildcards, or a path template with {@code {*}} and {@code {**}} segments
     * ({@code security.CheckValidPathTemplate}): a template may not also use a bare {@code *}, and {@code {**}}
     * must be the last operator.
     */
    private static void validatePaths(List<String> paths, String path) throws ConfigException {
        for (int i = 0; i < paths.size(); i++) {
            String v = paths.get(i);
            if (v == null) {
                continue;
            }
            if (containsPathTemplate(v)) {
                String[] segments = v.split("/", -1);
                boolean sawDouble = false;
                for (String s : segments) {
                    if (s.equals("{*}") || s.equals("{**}")) {
                        if (sawDouble) {
                            throw new ConfigException(path + "[" + i + "]: " + v
                                    + " (expected: {**} as the last operator of the path template)");
                        }
                        sawDouble = s.equals("{**}");
                    } else if (s.contains("{") || s.contains("}") || s.contains("*")) {
                        throw new ConfigException(path + "[" + i + "]: " + v
                                + " (expected: a path template whose operators are whole segments {*} or {**})");
                    }
                }
                if (!v.startsWith("/")) {
                    throw new ConfigException(path + "[" + i + "]: " + v + " (expected: a path template starting with /)");
                }
            } else {
                validateWildcards(List.of(v), path + "[" + i + "]");
            }
        }
    }

    /** Returns whether {@code path} holds an Istio path template operator ({@code {*}} or {@code {**}}). */
    public static boolean containsPathTemplate(String path) {
        return path.contains("{*}") || path.contains("{**}");
    }

    private static boolean isPort(String v) {
        if (v == null || v.isEmpty() || v.length() > 5 || !v.chars().allMatch(Character::isDigit)) {
            return false;
        }
        return Integer.parseInt(v) <= 65535;
    }

    private static void validateServiceAccount(String v, String path) throws ConfigException {
        if (v == null || v.isEmpty()) {
            throw new ConfigException(path + ": \"\" (expected: <namespace>/<name> or <name>)");
        }
        if (v.indexOf('/') != v.lastIndexOf('/') || v.contains("*")) {
            throw new ConfigException(path + ": " + v + " (expected: <namespace>/<name> or <name>, no wildcard)");
        }
    }

    /** An address and prefix length, as Envoy's {@code CidrRange}. */
    public record Cidr(String addressPrefix, int prefixLen) {}

    /**
     * Parses an IP address or CIDR range as Istio's {@code AddrStrToCidrRange}: a bare address is a /32 or /128.
     * Returns {@code null} when {@code v} is neither (a host name is never looked up).
     */
    public static Cidr cidr(String v) {
        if (v == null || v.isEmpty()) {
            return null;
        }
        String addr = v;
        int len = -1;
        int slash = v.indexOf('/');
        if (slash >= 0) {
            addr = v.substring(0, slash);
            String l = v.substring(slash + 1);
            if (l.isEmpty() || l.length() > 3 || !l.chars().allMatch(Character::isDigit)) {
                return null;
            }
            len = Integer.parseInt(l);
        }
        int max;
        if (addr.contains(":")) {
            // An IPv6 literal: InetAddress never resolves a name containing ':'.
            if (!addr.matches("[0-9a-fA-F:.]+")) {
                return null;
            }
            try {
                InetAddress.getByName(addr);
            } catch (Exception e) {
                return null;
            }
            max = 128;
        } else {
            // An IPv4 literal, parsed here so that nothing is ever looked up in DNS.
            String[] parts = addr.split("\\.", -1);
            if (parts.length != 4) {
                return null;
            }
            for (String p : parts) {
                if (p.isEmpty() || p.length() > 3 || !p.chars().allMatch(Character::isDigit)
                        || Integer.parseInt(p) > 255) {
                    return null;
                }
            }
            max = 32;
        }
        if (len < 0) {
            len = max;
        }
        if (len > max) {
            return null;
        }
        return new Cidr(addr, len);
    }
}
