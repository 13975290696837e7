package io.jmesh.proxy.filter.rbac;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.stream.RequestAttributes;
import io.jmesh.proxy.stream.StreamInfo;

/**
 * Envoy's RBAC engine ({@code config.rbac.v3.RBAC}), compiled once per config and shared by every request: the
 * HTTP, network and RPC RBAC filters all call {@link #evaluate}. Immutable and thread-safe.
 *
 * <p>A policy matches when any of its permissions and any of its principals match. Policies are tried in the order
 * of their names (as Envoy keeps them), and the first that matches is the effective one. With action
 * {@code ALLOW} a request is allowed when a policy matches; with {@code DENY} it is denied when one matches;
 * {@code LOG} always allows (a match asks the access log to log it). See
 * <a href="https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/rbac/v3/rbac.proto">rbac.proto</a>.
 */
public final class RbacEngine {

    /** The outcome of one evaluation. */
    public record Decision(boolean allowed, String policyId) {
        /** The effective policy's name for logs and response details, {@code none} when no policy matched. */
        public String policyIdOrNone() {
            return policyId == null ? "none" : policyId;
        }
    }

    private final RBAC.Action action;
    private final String[] names;
    private final RbacMatcher[] permissions;
    private final RbacMatcher[] principals;
    private final Decision noMatch;
    private final Decision[] matched;

    private RbacEngine(RBAC.Action action, List<String> names, List<RbacMatcher> permissions,
                       List<RbacMatcher> principals) {
        this.action = action;
        this.names = names.toArray(new String[0]);
        this.permissions = permissions.toArray(new RbacMatcher[0]);
        this.principals = principals.toArray(new RbacMatcher[0]);
        this.noMatch = new Decision(action != RBAC.Action.ALLOW, null);
        this.matched = new Decision[this.names.length];
        for (int i = 0; i < this.names.length; i++) {
            matched[i] = new Decision(action != RBAC.Action.DENY, this.names[i]);
        }
    }

    /**
     * Compiles {@code rbac}; errors name the field under {@code path} (e.g. {@code rules.policies["p"].permissions[0]
     * .url_path.path.prefix: "" (expected: non-empty)}).
     */
    public static RbacEngine compile(RBAC rbac, String path) throws ConfigException {
        if (rbac.getAction() == RBAC.Action.UNRECOGNIZED) {
            throw new ConfigException(path + ".action: " + rbac.getActionValue() + " (expected: ALLOW, DENY or LOG)");
        }
        if (rbac.hasAuditLoggingOptions()) {
            throw new ConfigException(path + ".audit_logging_options: (expected: unset; RBAC audit loggers are not"
                                      + " supported)");
        }
        List<String> names = new ArrayList<>();
        List<RbacMatcher> permissions = new ArrayList<>();
        List<RbacMatcher> principals = new ArrayList<>();
        for (Map.Entry<String, Policy> e : new TreeMap<>(rbac.getPoliciesMap()).entrySet()) {
            String at = path + ".policies[\"" + e.getKey() + "\"]";
            Policy p = e.getValue();
            if (p.hasCondition() || p.hasCheckedCondition()) {
                throw new ConfigException(at + (p.hasCondition() ? ".condition" : ".checked_condition")
                                          + ": (expected: unset; CEL conditions are not supported)");
            }
            if (p.getPermissionsCount() == 0) {
                throw new ConfigException(at + ".permissions: [] (expected: at least one permission)");
            }
            if (p.getPrincipalsCount() == 0) {
                throw new ConfigException(at + ".principals: [] (expected: at least one principal)");
            }
            List<RbacMatcher> perms = new ArrayList<>();
            for (int i = 0; i < p.getPermissionsCount(); i++) {
                perms.add(RbacMatchers.permission(p.getPermissions(i), at + ".permissions[" + i + "]"));
            }
            List<RbacMatcher> ids = new ArrayList<>();
            for (int i = 0; i < p.getPrincipalsCount(); i++) {
                ids.add(RbacMatchers.principal(p.getPrincipals(i), at + ".principals[" + i + "]"));
            }
            names.add(e.getKey());
            permissions.add(anyOf(perms));
            principals.add(anyOf(ids));
        }
        return new RbacEngine(rbac.getAction(), names, permissions, principals);
    }

    private static RbacMatcher anyOf(List<RbacMatcher> list) {
        if (list.size() == 1) {
            return list.get(0);
        }
        RbacMatcher[] a = list.toArray(new RbacMatcher[0]);
        return (r, c, s) -> {
            for (RbacMatcher m : a) {
                if (m.matches(r, c, s)) {
                    return true;
                }
            }
            return false;
        };
    }

    /** {@code ALLOW}, {@code DENY} or {@code LOG}. */
    public RBAC.Action action() {
        return action;
    }

    /** The policy names, in the order they are tried. */
    public List<String> policyNames() {
        return List.of(names);
    }

    /**
     * Evaluates the request; allocates nothing (decisions are made once per config).
     *
     * @param request    the request, or null on a network filter
     * @param connection the downstream connection
     * @param info       the stream's info (dynamic metadata, filter state), or null
     */
    public Decision evaluate(RequestAttributes request, ConnectionInfo connection, StreamInfo info) {
        for (int i = 0; i < names.length; i++) {
            if (permissions[i].matches(request, connection, info) && principals[i].matches(request, connection, info)) {
                return matched[i];
            }
        }
        return noMatch;
    }

    /** Whether {@code d} came from a matching policy of a {@code LOG} engine (Envoy's {@code access_log_hint}). */
    public boolean logHint(Decision d) {
        return action == RBAC.Action.LOG && d.policyId() != null;
    }

    /**
     * A compiled {@code MetadataMatcher} over a stream's dynamic metadata, as RBAC evaluates it (for filters that are
     * enabled by metadata, e.g. ext_authz's {@code filter_enabled_metadata}); {@code path} prefixes errors.
     */
    public static java.util.function.Predicate<StreamInfo> metadataMatcher(
            io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher matcher, String path) throws ConfigException {
        RbacMatcher m = RbacMatchers.metadata(matcher, path);
        return info -> m.matches(null, null, info);
    }
}
