package io.jmesh.discovery.xds;

import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig;
import io.envoyproxy.envoy.type.matcher.v3.ListMatcher;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.PathMatcher;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import io.jmesh.discovery.config.AuthorizationPolicy;
import io.jmesh.discovery.config.AuthorizationPolicyValidator;
import java.util.ArrayList;
import java.util.List;

/**
 * One AuthorizationPolicy rule as one Envoy RBAC {@link Policy}: Istio's authorization model
 * ({@code pilot/pkg/security/authz/model}: {@code model.go} consolidates {@code from}, {@code to} and {@code when}
 * into permissions and principals, {@code generator.go} turns each attribute value into a matcher). Each
 * {@code to} is one permission and each {@code from} one principal (OR); inside one, every attribute is ANDed, its
 * values ORed and its {@code not} values negated. {@code when} conditions are added to every permission (attributes
 * of the request's target) or principal (of its origin). Pure; thread-safe.
 *
 * <p>The identity attributes match what the proxy knows of the peer and the request: {@code source.principal} and
 * namespaces the peer certificate's SPIFFE ID ({@code authenticated.principal_name}), {@code request.auth.*} the
 * {@value #AUTHN_FILTER} dynamic metadata that request authentication writes.
 */
final class AuthorizationModel {

    /** The dynamic metadata namespace where authentication puts {@code request.auth.*}. */
    static final String AUTHN_FILTER = "istio_authn";
    private static final String SPIFFE = "spiffe://";

    private AuthorizationModel() {}

    /** Why a rule is left out of an ALLOW policy (e.g. an HTTP-only field on a TCP chain). */
    static final class Skip extends Exception {
        private static final long serialVersionUID = 1L;

        Skip(String message) {
            super(message, null, false, false);
        }
    }

    /** The attributes a rule can test, each either a permission (what is accessed) or a principal (who). */
    private enum Attr {
        DEST_IP(true, false), DEST_PORT(true, false), SNI(true, false), ENVOY_FILTER(true, false),
        HOST(true, true), METHOD(true, true), PATH(true, true),
        SRC_IP(false, false), REMOTE_IP(false, false), SRC_NAMESPACE(false, false), SRC_PRINCIPAL(false, false),
        SRC_SERVICE_ACCOUNT(false, false), REQUEST_PRINCIPAL(false, true), REQUEST_AUDIENCES(false, true),
        REQUEST_PRESENTER(false, true), REQUEST_HEADER(false, true), REQUEST_CLAIMS(false, true);

        final boolean permission;
        final boolean httpOnly;

        Attr(boolean permission, boolean httpOnly) {
            this.permission = permission;
            this.httpOnly = httpOnly;
        }
    }

    private record Cond(Attr attr, String key, List<String> values, List<String> notValues) {}

    /** Istio's {@code Model.Generate}: one RBAC policy for one rule. */
    static Policy generate(String namespace, AuthorizationPolicy.Rule rule, boolean forTcp, RBAC.Action action)
            throws Skip {
        List<Cond> basePermission = new ArrayList<>();
        List<Cond> basePrincipal = new ArrayList<>();
        for (AuthorizationPolicy.Condition w : rule.when()) {
            Cond c = condition(w, namespace);
            (c.attr().permission ? basePermission : basePrincipal).add(c);
        }
        List<List<Cond>> principals = new ArrayList<>();
        if (rule.from() == null || rule.from().isEmpty()) {
            principals.add(basePrincipal);
        } else {
            for (AuthorizationPolicy.From f : rule.from()) {
                List<Cond> merged = new ArrayList<>();
                AuthorizationPolicy.Source s = f.source();
                add(merged, Attr.SRC_SERVICE_ACCOUNT, "source.serviceAccount", qualify(s.serviceAccounts(), namespace),
                        qualify(s.notServiceAccounts(), namespace));
                add(merged, Attr.SRC_PRINCIPAL, "source.principal", s.principals(), s.notPrincipals());
                add(merged, Attr.REQUEST_PRINCIPAL, "request.auth.principal", s.requestPrincipals(),
                        s.notRequestPrincipals());
                add(merged, Attr.SRC_NAMESPACE, "source.namespace", s.namespaces(), s.notNamespaces());
                add(merged, Attr.REMOTE_IP, "remote.ip", s.remoteIpBlocks(), s.notRemoteIpBlocks());
                add(merged, Attr.SRC_IP, "source.ip", s.ipBlocks(), s.notIpBlocks());
                merged.addAll(basePrincipal);
                principals.add(merged);
            }
        }
        List<List<Cond>> permissions = new ArrayList<>();
        if (rule.to() == null || rule.to().isEmpty()) {
            permissions.add(basePermission);
        } else {
            for (AuthorizationPolicy.To t : rule.to()) {
                List<Cond> merged = new ArrayList<>();
                AuthorizationPolicy.Operation o = t.operation();
                add(merged, Attr.HOST, "hosts", o.hosts(), o.notHosts());
                add(merged, Attr.METHOD, "methods", o.methods(), o.notMethods());
                add(merged, Attr.PATH, "paths", o.paths(), o.notPaths());
                add(merged, Attr.DEST_PORT, "ports", o.ports(), o.notPorts());
                merged.addAll(basePermission);
                permissions.add(merged);
            }
        }
        Policy.Builder policy = Policy.newBuilder();
        for (List<Cond> conds : permissions) {
            List<Permission> and = new ArrayList<>();
            for (Cond c : conds) {
                and.addAll(permissions(c, forTcp, action));
            }
            if (and.isEmpty()) {
                and.add(Permission.newBuilder().setAny(true).build());
            }
            policy.addPermissions(Permission.newBuilder().setAndRules(Permission.Set.newBuilder().addAllRules(and)));
        }
        for (List<Cond> conds : principals) {
            List<Principal> and = new ArrayList<>();
            for (Cond c : conds) {
                and.addAll(principals(c, forTcp, action));
            }
            if (and.isEmpty()) {
                and.add(Principal.newBuilder().setAny(true).build());
            }
            policy.addPrincipals(Principal.newBuilder().setAndIds(Principal.Set.newBuilder().addAllIds(and)));
        }
        return policy.build();
    }

    /** Service accounts {@code name} become {@code <policy namespace>/name}, as Istio's serviceAccountRegex does. */
    private static List<String> qualify(List<String> serviceAccounts, String namespace) {
        List<String> out = new ArrayList<>();
        for (String sa : serviceAccounts) {
            out.add(sa.contains("/") ? sa : namespace + "/" + sa);
        }
        return out;
    }

    private static void add(List<Cond> out, Attr attr, String key, List<String> values, List<String> notValues) {
        if (!values.isEmpty() || !notValues.isEmpty()) {
            out.add(new Cond(attr, key, values, notValues));
        }
    }

    private static Cond condition(AuthorizationPolicy.Condition w, String namespace) {
        String k = w.key();
        Attr a;
        if (k.equals("source.serviceAccount")) {
            return new Cond(Attr.SRC_SERVICE_ACCOUNT, k, qualify(w.values(), namespace), qualify(w.notValues(), namespace));
        }
        if (k.equals("destination.ip")) {
            a = Attr.DEST_IP;
        } else if (k.equals("destination.port")) {
            a = Attr.DEST_PORT;
        } else if (k.equals("connection.sni")) {
            a = Attr.SNI;
        } else if (k.startsWith("experimental.envoy.filters.")) {
            a = Attr.ENVOY_FILTER;
        } else if (k.equals("source.ip")) {
            a = Attr.SRC_IP;
        } else if (k.equals("remote.ip")) {
            a = Attr.REMOTE_IP;
        } else if (k.equals("source.namespace")) {
            a = Attr.SRC_NAMESPACE;
        } else if (k.equals("source.principal")) {
            a = Attr.SRC_PRINCIPAL;
        } else if (k.equals("request.auth.principal")) {
            a = Attr.REQUEST_PRINCIPAL;
        } else if (k.equals("request.auth.audiences")) {
            a = Attr.REQUEST_AUDIENCES;
        } else if (k.equals("request.auth.presenter")) {
            a = Attr.REQUEST_PRESENTER;
        } else if (k.startsWith("request.headers")) {
            a = Attr.REQUEST_HEADER;
        } else if (k.startsWith("request.auth.claims")) {
            a = Attr.REQUEST_CLAIMS;
        } else {
            throw new IllegalStateException("unknown attribute " + k + " passed validation");
        }
        return new Cond(a, k, w.values(), w.notValues());
    }

    /** Istio's {@code rule.permission}: OR of the values, then NOT(OR of the notValues). */
    private static List<Permission> permissions(Cond c, boolean forTcp, RBAC.Action action) throws Skip {
        List<Permission> out = new ArrayList<>();
        List<Permission> or = new ArrayList<>();
        for (String v : c.values()) {
            Permission p = permission(c, v, forTcp, action);
            if (p != null) {
                or.add(p);
            }
        }
        if (!or.isEmpty()) {
            out.add(Permission.newBuilder().setOrRules(Permission.Set.newBuilder().addAllRules(or)).build());
        }
        or = new ArrayList<>();
        for (String v : c.notValues()) {
            Permission p = permission(c, v, forTcp, action);
            if (p != null) {
                or.add(p);
            }
        }
        if (!or.isEmpty()) {
            out.add(Permission.newBuilder().setNotRule(
                    Permission.newBuilder().setOrRules(Permission.Set.newBuilder().addAllRules(or))).build());
        }
        return out;
    }

    private static List<Principal> principals(Cond c, boolean forTcp, RBAC.Action action) throws Skip {
        List<Principal> out = new ArrayList<>();
        List<Principal> or = new ArrayList<>();
        for (String v : c.values()) {
            Principal p = principal(c, v, forTcp, action);
            if (p != null) {
                or.add(p);
            }
        }
        if (!or.isEmpty()) {
            out.add(Principal.newBuilder().setOrIds(Principal.Set.newBuilder().addAllIds(or)).build());
        }
        or = new ArrayList<>();
        for (String v : c.notValues()) {
            Principal p = principal(c, v, forTcp, action);
            if (p != null) {
                or.add(p);
            }
        }
        if (!or.isEmpty()) {
            out.add(Principal.newBuilder().setNotId(
                    Principal.newBuilder().setOrIds(Principal.Set.newBuilder().addAllIds(or))).build());
        }
        return out;
    }

    /**
     * An HTTP-only attribute on a TCP chain: for ALLOW the whole rule is dropped ({@link Skip}); for DENY and AUDIT
     * just this value is (Istio's {@code checkError}: a smaller allow, a wider deny).
     */
    private static boolean httpOnlyOnTcp(Cond c, boolean forTcp, RBAC.Action action) throws Skip {
        if (!forTcp || !c.attr().httpOnly) {
            return false;
        }
        if (action == RBAC.Action.ALLOW) {
            throw new Skip("\"" + c.key() + "\" is HTTP only");
        }
        return true;
    }

    // Istio writes `metadata`, which Envoy deprecated for `sourced_metadata`; jmesh's proxy reads `metadata`.
    @SuppressWarnings("deprecation")
    private static Permission permission(Cond c, String v, boolean forTcp, RBAC.Action action) throws Skip {
        if (httpOnlyOnTcp(c, forTcp, action)) {
            return null;
        }
        Permission.Builder p = Permission.newBuilder();
        switch (c.attr()) {
            case DEST_IP -> p.setDestinationIp(cidr(v));
            case DEST_PORT -> p.setDestinationPort(Integer.parseInt(v));
            case SNI -> p.setRequestedServerName(stringMatcher(v, ""));
            case ENVOY_FILTER -> {
                // experimental.envoy.filters.a.b[c] -> filter envoy.filters.a.b, key c
                String rest = c.key().substring("experimental.".length());
                int open = rest.indexOf('[');
                String filter = rest.substring(0, open);
                String key = rest.substring(open + 1, rest.length() - 1);
                MetadataMatcher.Builder m = MetadataMatcher.newBuilder().setFilter(filter)
                        .addPath(MetadataMatcher.PathSegment.newBuilder().setKey(key));
                if (v.startsWith("[") && v.endsWith("]")) {
                    m.setValue(listMatch(stringMatcher(v.substring(1, v.length() - 1), "")));
                } else {
                    m.setValue(ValueMatcher.newBuilder().setStringMatch(stringMatcher(v, "")));
                }
                p.setMetadata(m);
            }
            case HOST -> p.setHeader(hostMatcher(v));
            case METHOD -> p.setHeader(headerMatcher(":method", v));
            case PATH -> {
                if (AuthorizationPolicyValidator.containsPathTemplate(v)) {
                    p.setUriTemplate(TypedExtensionConfig.newBuilder().setName("uri-template")
                            .setTypedConfig(Protos.any(UriTemplateMatchConfig.newBuilder()
                                    .setPathTemplate(v.replace("{**}", "**").replace("{*}", "*")).build())));
                } else {
                    p.setUrlPath(PathMatcher.newBuilder().setPath(stringMatcher(v, "")));
                }
            }
            default -> throw new IllegalStateException(c.attr() + " is not a permission");
        }
        return p.build();
    }

    // Istio writes `metadata`, which Envoy deprecated for `sourced_metadata`; jmesh's proxy reads `metadata`.
    @SuppressWarnings("deprecation")
    private static Principal principal(Cond c, String v, boolean forTcp, RBAC.Action action) throws Skip {
        if (httpOnlyOnTcp(c, forTcp, action)) {
            return null;
        }
        Principal.Builder p = Principal.newBuilder();
        switch (c.attr()) {
            case SRC_IP -> p.setDirectRemoteIp(cidr(v));
            case REMOTE_IP -> p.setRemoteIp(cidr(v));
            case SRC_NAMESPACE -> p.setAuthenticated(Principal.Authenticated.newBuilder()
                    .setPrincipalName(regex(".*/ns/" + v.replace("*", ".*") + "/.*")));
            case SRC_PRINCIPAL -> p.setAuthenticated(Principal.Authenticated.newBuilder()
                    .setPrincipalName(stringMatcher(v, SPIFFE)));
            case SRC_SERVICE_ACCOUNT -> {
                // values are <namespace>/<name> here: generate() qualified bare names with the policy's namespace
                int slash = v.indexOf('/');
                p.setAuthenticated(Principal.Authenticated.newBuilder().setPrincipalName(regex("spiffe://.+/ns/"
                        + v.substring(0, slash) + "/(.+/|)sa/" + v.substring(slash + 1) + "(/.+)?")));
            }
            case REQUEST_PRINCIPAL, REQUEST_AUDIENCES, REQUEST_PRESENTER -> p.setMetadata(MetadataMatcher.newBuilder()
                    .setFilter(AUTHN_FILTER)
                    .addPath(MetadataMatcher.PathSegment.newBuilder().setKey(c.key()))
                    .setValue(ValueMatcher.newBuilder().setStringMatch(stringMatcher(v, ""))));
            case REQUEST_HEADER -> p.setHeader(headerMatcher(brackets(c.key(), "request.headers").get(0), v));
            case REQUEST_CLAIMS -> {
                MetadataMatcher.Builder m = MetadataMatcher.newBuilder().setFilter(AUTHN_FILTER)
                        .addPath(MetadataMatcher.PathSegment.newBuilder().setKey("request.auth.claims"));
                for (String claim : brackets(c.key(), "request.auth.claims")) {
                    m.addPath(MetadataMatcher.PathSegment.newBuilder().setKey(claim));
                }
                p.setMetadata(m.setValue(listMatch(stringMatcher(v, ""))));
            }
            default -> throw new IllegalStateException(c.attr() + " is not a principal");
        }
        return p.build();
    }

    /** {@code request.headers[X]} -> [X]; {@code request.auth.claims[a][b]} -> [a, b]. */
    private static List<String> brackets(String key, String attr) {
        String rest = key.substring(attr.length());
        List<String> out = new ArrayList<>();
        if (rest.startsWith("[") && rest.endsWith("]")) {
            for (String part : rest.substring(1, rest.length() - 1).split("\\]\\[", -1)) {
                out.add(part);
            }
        }
        return out;
    }

    private static ValueMatcher listMatch(StringMatcher m) {
        return ValueMatcher.newBuilder().setListMatch(ListMatcher.newBuilder()
                .setOneOf(ValueMatcher.newBuilder().setStringMatch(m))).build();
    }

    private static CidrRange cidr(String v) {
        AuthorizationPolicyValidator.Cidr c = AuthorizationPolicyValidator.cidr(v);
        return CidrRange.newBuilder().setAddressPrefix(c.addressPrefix()).setPrefixLen(Protos.u32(c.prefixLen())).build();
    }

    private static StringMatcher regex(String regex) {
        return StringMatcher.newBuilder().setSafeRegex(RegexMatcher.newBuilder().setRegex(regex)).build();
    }

    /** Istio's {@code StringMatcherWithPrefix}: {@code *} presence (regex .+), {@code *x} suffix, {@code x*} prefix. */
    static StringMatcher stringMatcher(String v, String prefix) {
        if (v.equals("*")) {
            return regex(".+");
        }
        if (v.startsWith("*")) {
            return prefix.isEmpty() ? StringMatcher.newBuilder().setSuffix(v.substring(1)).build()
                    : regex(prefix + ".*" + v.substring(1));
        }
        if (v.endsWith("*")) {
            return StringMatcher.newBuilder().setPrefix(prefix + v.substring(0, v.length() - 1)).build();
        }
        return StringMatcher.newBuilder().setExact(prefix + v).build();
    }

    private static HeaderMatcher headerMatcher(String name, String v) {
        if (v.equals("*")) {
            return HeaderMatcher.newBuilder().setName(name).setPresentMatch(true).build();
        }
        return HeaderMatcher.newBuilder().setName(name).setStringMatch(stringMatcher(v, "")).build();
    }

    /** Istio's {@code HostMatcher}: like a header matcher on {@code :authority}, case-insensitive. */
    private static HeaderMatcher hostMatcher(String v) {
        if (v.equals("*")) {
            return HeaderMatcher.newBuilder().setName(":authority").setPresentMatch(true).build();
        }
        return HeaderMatcher.newBuilder().setName(":authority")
                .setStringMatch(stringMatcher(v, "").toBuilder().setIgnoreCase(true)).build();
    }
}
