package io.jmesh.discovery.xds;

import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HttpUri;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.AuthorizationRequest;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.AuthorizationResponse;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.BufferSettings;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.HttpService;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.matcher.v3.ListStringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.MetadataMatcher;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.envoyproxy.envoy.type.matcher.v3.ValueMatcher;
import io.envoyproxy.envoy.type.v3.HttpStatus;
import io.envoyproxy.envoy.type.v3.StatusCode;
import io.jmesh.discovery.config.AuthorizationPolicy;
import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.Labels;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.model.Service;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Istio's authorization builder ({@code pilot/pkg/security/authz/builder}): the AuthorizationPolicies that
 * select a sidecar become the RBAC and ext_authz filters of its inbound chains. Pure; thread-safe.
 *
 * <p>Selection: policies in the MeshConfig root namespace and in the workload's namespace whose
 * {@code selector.matchLabels} are a subset of the workload's labels (no selector: every workload in scope).
 * Policies with {@code targetRef}/{@code targetRefs} attach to Gateway API gateways or waypoints, which jmesh does
 * not have: they are skipped, with a warning naming the policy and the target kind. Gateways ({@code router}
 * proxies) get the HTTP filters on their HTTP connection managers, selected the same way by their labels.
 *
 * <p>Translation, per chain, in this order: CUSTOM (an RBAC filter whose {@code shadow_rules} mark the requests
 * that the provider must check, then the ext_authz filter enabled by that mark), AUDIT (RBAC action LOG), DENY,
 * ALLOW. Each policy rule {@code i} is the RBAC policy {@code ns[<ns>]-policy[<name>]-rule[<i>]} (prefixed
 * {@code istio-ext-authz-} for CUSTOM); a policy without rules is one policy that never matches. A policy
 * annotated {@code istio.io/dry-run: "true"} goes to {@code shadow_rules} with stat prefix
 * {@code istio_dry_run_allow_} or {@code istio_dry_run_deny_}. On TCP chains a rule using an HTTP-only field
 * is dropped from an ALLOW policy and has that field ignored in a DENY or AUDIT one (a wider deny), as Istio.
 * One rule becomes one RBAC policy in {@link AuthorizationModel}.
 */
final class AuthorizationFilters {

    private static final Logger logger = LoggerFactory.getLogger(AuthorizationFilters.class);

    static final String HTTP_RBAC = "envoy.filters.http.rbac";
    static final String NETWORK_RBAC = "envoy.filters.network.rbac";
    static final String HTTP_EXT_AUTHZ = "envoy.filters.http.ext_authz";
    static final String NETWORK_EXT_AUTHZ = "envoy.filters.network.ext_authz";
    /**
     * The RPC (Dubbo/Bolt) RBAC filter in rpc_proxy's {@code filters}: its typed config is Envoy's HTTP RBAC proto,
     * evaluated with host = the service interface and path = {@code /<interface>/<method>}.
     */
    static final String RPC_RBAC = "jmesh.filters.rpc.rbac";
    /** The RPC ext_authz filter: its typed config is Envoy's HTTP ext_authz proto, checked as {@value #RPC_RBAC}. */
    static final String RPC_EXT_AUTHZ = "jmesh.filters.rpc.ext_authz";
    static final String TCP_STAT_PREFIX = "tcp.";
    static final String DRY_RUN_ALLOW_PREFIX = "istio_dry_run_allow_";
    static final String DRY_RUN_DENY_PREFIX = "istio_dry_run_deny_";
    static final String EXT_AUTHZ_SHADOW_PREFIX = "istio_ext_authz_";
    static final String EXT_AUTHZ_POLICY_PREFIX = "istio-ext-authz";
    static final String BAD_CUSTOM_SUFFIX = "-deny-due-to-bad-CUSTOM-action";

    private static final Set<String> warned = ConcurrentHashMap.newKeySet();

    private AuthorizationFilters() {}

    /** The policies of each action that select a workload, root namespace first, each by namespace/name. */
    record Selected(List<Config<AuthorizationPolicy>> custom, List<Config<AuthorizationPolicy>> audit,
                    List<Config<AuthorizationPolicy>> deny, List<Config<AuthorizationPolicy>> allow) {
        boolean isEmpty() {
            return custom.isEmpty() && audit.isEmpty() && deny.isEmpty() && allow.isEmpty();
        }
    }

    /** Returns the policies that select the sidecar of {@code ctx}. */
    static Selected select(GenerationContext ctx) {
        String root = ctx.snapshot.meshConfig().rootNamespace();
        List<Config<AuthorizationPolicy>> all = ctx.snapshot.config().of(ConfigKind.AUTHORIZATION_POLICY);
        List<Config<AuthorizationPolicy>> ordered = new ArrayList<>();
        for (Config<AuthorizationPolicy> c : all) {
            if (c.meta().namespace().equals(root)) {
                ordered.add(c);
            }
        }
        if (!ctx.proxy.namespace().equals(root)) {
            for (Config<AuthorizationPolicy> c : all) {
                if (c.meta().namespace().equals(ctx.proxy.namespace())) {
                    ordered.add(c);
                }
            }
        }
        Selected out = new Selected(new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        for (Config<AuthorizationPolicy> c : ordered) {
            AuthorizationPolicy ap = c.spec();
            if (ap.targetRef() != null || !ap.targetRefs().isEmpty()) {
                String kind = ap.targetRef() != null ? ap.targetRef().kind() : ap.targetRefs().get(0).kind();
                if (warned.add(c.meta().key())) {
                    logger.warn("{}: targetRef kind {} is not supported (expected: selector); "
                            + "the policy is not applied to {}", c.meta().key(), kind, ctx.proxy.id());
                }
                continue;
            }
            if (!Labels.selects(ap.matchLabels(), ctx.proxy.labels())) {
                continue;
            }
            switch (ap.action()) {
                case "CUSTOM" -> out.custom.add(c);
                case "AUDIT" -> out.audit.add(c);
                case "DENY" -> out.deny.add(c);
                default -> out.allow.add(c);
            }
        }
        return out;
    }

    // ---- the three chain kinds

    /** The authorization HTTP filters of an inbound HTTP chain: CUSTOM pair, AUDIT, DENY, ALLOW. */
    static List<HttpFilter> httpFilters(GenerationContext ctx, int port) {
        Selected s = select(ctx);
        List<HttpFilter> out = new ArrayList<>();
        if (s.isEmpty()) {
            return out;
        }
        if (!s.custom().isEmpty()) {
            out.addAll(customHttp(ctx, s.custom()));
        }
        addHttp(out, build(s.audit(), RBAC.Action.LOG, false, ""));
        addHttp(out, build(s.deny(), RBAC.Action.DENY, false, ""));
        addHttp(out, build(s.allow(), RBAC.Action.ALLOW, false, ""));
        return out;
    }

    /**
     * The authorization HTTP filters of a gateway's ({@code router} proxy's) HTTP connection managers: the policies
     * of the gateway's namespace and the root namespace that select its labels, as on a sidecar's inbound HTTP chain.
     */
    static List<HttpFilter> gatewayHttpFilters(GenerationContext ctx) {
        return httpFilters(ctx, 0);
    }

    /** The authorization network filters of an inbound TCP chain (none on HTTP and RPC chains). */
    static List<Filter> networkFilters(GenerationContext ctx, int port) {
        List<Filter> out = new ArrayList<>();
        if (!"tcp".equals(inboundProtocol(ctx, port))) {
            return out;
        }
        Selected s = select(ctx);
        if (s.isEmpty()) {
            return out;
        }
        if (!s.custom().isEmpty()) {
            out.addAll(customTcp(ctx, s.custom()));
        }
        addTcp(out, build(s.audit(), RBAC.Action.LOG, true, ""));
        addTcp(out, build(s.deny(), RBAC.Action.DENY, true, ""));
        addTcp(out, build(s.allow(), RBAC.Action.ALLOW, true, ""));
        return out;
    }

    /**
     * The RPC filters of an inbound Dubbo/Bolt chain: one {@value #RPC_RBAC} per action with HTTP semantics (host,
     * path, method and headers are the call's); CUSTOM as the RPC RBAC shadow rules plus {@value #RPC_EXT_AUTHZ}.
     */
    static List<TypedExtensionConfig> rpcFilters(GenerationContext ctx, int port) {
        Selected s = select(ctx);
        List<TypedExtensionConfig> out = new ArrayList<>();
        if (s.isEmpty()) {
            return out;
        }
        if (!s.custom().isEmpty()) {
            out.addAll(customRpc(ctx, s.custom()));
        }
        for (Built b : java.util.Arrays.asList(build(s.audit(), RBAC.Action.LOG, false, ""),
                build(s.deny(), RBAC.Action.DENY, false, ""), build(s.allow(), RBAC.Action.ALLOW, false, ""))) {
            if (b != null) {
                out.add(rpc(httpRbac(b)));
            }
        }
        return out;
    }

    /**
     * CUSTOM on a Dubbo/Bolt chain, as on HTTP: the RPC RBAC filter's shadow rules mark the calls, then
     * {@value #RPC_EXT_AUTHZ} (the HTTP ext_authz config, enabled by the RPC RBAC filter's shadow result) asks the
     * provider about them as HTTP requests {@code /<interface>/<method>}. The request body is never sent for RPC.
     */
    private static List<TypedExtensionConfig> customRpc(GenerationContext ctx,
                                                        List<Config<AuthorizationPolicy>> policies) {
        Built built = build(policies, RBAC.Action.DENY, false, EXT_AUTHZ_POLICY_PREFIX + "-");
        ExtAuthzConfig ext = extAuthz(ctx, policies);
        if (ext.error != null) {
            warnOnce("custom-rpc:" + ext.error, ctx.proxy.id() + ": " + ext.error
                    + "; the CUSTOM policies' calls are denied");
            return List.of(rpc(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder()
                    .setRules(badCustomDeny(built)).build()));
        }
        ExtAuthz.Builder rpcExt = ext.http.toBuilder().setFilterEnabledMetadata(filterEnabled(RPC_RBAC));
        if (rpcExt.hasWithRequestBody()) {
            warnOnce("custom-rpc-body:" + ctx.proxy.id(), ctx.proxy.id() + ": includeRequestBodyInCheck does not apply"
                    + " to Dubbo/Bolt calls (their bodies are not sent to the provider)");
            rpcExt.clearWithRequestBody();
        }
        return List.of(rpc(customRbacHttp(built)), TypedExtensionConfig.newBuilder().setName(RPC_EXT_AUTHZ)
                .setTypedConfig(Protos.any(rpcExt.build())).build());
    }

    private static TypedExtensionConfig rpc(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC rbac) {
        return TypedExtensionConfig.newBuilder().setName(RPC_RBAC).setTypedConfig(Protos.any(rbac)).build();
    }

    /** The protocol of the workload port {@code port} as {@link ListenerGenerator} decides it for its chain. */
    static String inboundProtocol(GenerationContext ctx, int port) {
        InboundPort p = ctx.inboundPorts().get(port);
        return p == null ? "tcp" : p.protocol();
    }

    // ---- RBAC filters

    /** The enforced and dry-run rules of one action; either may be null (no policy of that kind). */
    record Built(RBAC rules, RBAC shadowRules) {}

    private static void addHttp(List<HttpFilter> out, Built b) {
        if (b != null) {
            out.add(HttpFilter.newBuilder().setName(HTTP_RBAC).setTypedConfig(Protos.any(httpRbac(b))).build());
        }
    }

    private static io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC httpRbac(Built b) {
        io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.Builder rbac =
                io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder();
        if (b.rules() != null) {
            rbac.setRules(b.rules());
        }
        if (b.shadowRules() != null) {
            rbac.setShadowRules(b.shadowRules()).setShadowRulesStatPrefix(shadowPrefix(b.shadowRules()));
        }
        return rbac.build();
    }

    private static void addTcp(List<Filter> out, Built b) {
        if (b == null) {
            return;
        }
        io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.Builder rbac =
                io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.newBuilder().setStatPrefix(TCP_STAT_PREFIX);
        if (b.rules() != null) {
            rbac.setRules(b.rules());
        }
        if (b.shadowRules() != null) {
            rbac.setShadowRules(b.shadowRules()).setShadowRulesStatPrefix(shadowPrefix(b.shadowRules()));
        }
        out.add(Filter.newBuilder().setName(NETWORK_RBAC).setTypedConfig(Protos.any(rbac.build())).build());
    }

    private static String shadowPrefix(RBAC shadow) {
        return switch (shadow.getAction()) {
            case ALLOW -> DRY_RUN_ALLOW_PREFIX;
            case DENY -> DRY_RUN_DENY_PREFIX;
            default -> "";
        };
    }

    /** Istio's {@code Builder.build}: the policies of one action as enforced and dry-run RBAC, or null if none. */
    static Built build(List<Config<AuthorizationPolicy>> policies, RBAC.Action action, boolean forTcp, String prefix) {
        if (policies.isEmpty()) {
            return null;
        }
        RBAC.Builder enforce = RBAC.newBuilder().setAction(action);
        RBAC.Builder shadow = RBAC.newBuilder().setAction(action);
        boolean hasEnforce = false;
        boolean hasShadow = false;
        for (Config<AuthorizationPolicy> c : policies) {
            RBAC.Builder current;
            if (isDryRun(c)) {
                current = shadow;
                hasShadow = true;
            } else {
                current = enforce;
                hasEnforce = true;
            }
            List<AuthorizationPolicy.Rule> rules = c.spec().rules();
            for (int i = 0; i < rules.size(); i++) {
                String name = policyName(prefix, c.meta().namespace(), c.meta().name(), i);
                AuthorizationPolicy.Rule rule = rules.get(i);
                if (rule == null) {
                    continue;
                }
                try {
                    current.putPolicies(name, AuthorizationModel.generate(c.meta().namespace(), rule, forTcp, action));
                } catch (AuthorizationModel.Skip e) {
                    logger.debug("skipped rule {} on {} filter chain: {}", name, forTcp ? "TCP" : "HTTP", e.getMessage());
                }
            }
            if (rules.isEmpty()) {
                current.putPolicies(policyName(prefix, c.meta().namespace(), c.meta().name(), 0), matchNever());
            }
        }
        return new Built(hasEnforce ? enforce.build() : null, hasShadow ? shadow.build() : null);
    }

    static String policyName(String prefix, String namespace, String name, int rule) {
        return prefix + "ns[" + namespace + "]-policy[" + name + "]-rule[" + rule + "]";
    }

    private static boolean isDryRun(Config<AuthorizationPolicy> c) {
        String v = c.meta().annotations().get(AuthorizationPolicy.DRY_RUN_ANNOTATION);
        if (v == null) {
            return false;
        }
        // Go's strconv.ParseBool, which istiod uses.
        return switch (v) {
            case "1", "t", "T", "TRUE", "true", "True" -> true;
            case "0", "f", "F", "FALSE", "false", "False" -> false;
            default -> {
                if (warned.add(c.meta().key() + "/dry-run")) {
                    logger.warn("{}: metadata.annotations.{}: {} (expected: true or false); the policy is enforced",
                            c.meta().key(), AuthorizationPolicy.DRY_RUN_ANNOTATION, v);
                }
                yield false;
            }
        };
    }

    private static Policy matchNever() {
        return Policy.newBuilder()
                .addPermissions(Permission.newBuilder().setNotRule(Permission.newBuilder().setAny(true)))
                .addPrincipals(Principal.newBuilder().setNotId(Principal.newBuilder().setAny(true)))
                .build();
    }

    // ---- CUSTOM: RBAC shadow rules that mark the requests to check, and ext_authz enabled by the mark

    private static List<HttpFilter> customHttp(GenerationContext ctx, List<Config<AuthorizationPolicy>> policies) {
        Built built = build(policies, RBAC.Action.DENY, false, EXT_AUTHZ_POLICY_PREFIX + "-");
        ExtAuthzConfig ext = extAuthz(ctx, policies);
        if (ext.error != null) {
            warnOnce("custom:" + ext.error, ctx.proxy.id() + ": " + ext.error
                    + "; the CUSTOM policies' requests are denied");
            return List.of(HttpFilter.newBuilder().setName(HTTP_RBAC).setTypedConfig(Protos.any(
                    io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder()
                            .setRules(badCustomDeny(built)).build())).build());
        }
        return List.of(
                HttpFilter.newBuilder().setName(HTTP_RBAC).setTypedConfig(Protos.any(customRbacHttp(built))).build(),
                HttpFilter.newBuilder().setName(HTTP_EXT_AUTHZ).setTypedConfig(Protos.any(ext.http)).build());
    }

    private static io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC customRbacHttp(Built b) {
        io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.Builder rbac =
                io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder()
                        .setShadowRulesStatPrefix(EXT_AUTHZ_SHADOW_PREFIX);
        // Enforced CUSTOM policies are the shadow rules (evaluated, never enforced: they only mark the request);
        // dry-run ones go to rules, as Istio does (so a dry-run CUSTOM policy still calls the provider).
        rbac.setShadowRules(b.rules() != null ? b.rules() : RBAC.newBuilder().setAction(RBAC.Action.DENY).build());
        if (b.shadowRules() != null && b.shadowRules().getPoliciesCount() > 0) {
            rbac.setRules(b.shadowRules());
        }
        return rbac.build();
    }

    private static List<Filter> customTcp(GenerationContext ctx, List<Config<AuthorizationPolicy>> policies) {
        Built built = build(policies, RBAC.Action.DENY, true, EXT_AUTHZ_POLICY_PREFIX + "-");
        ExtAuthzConfig ext = extAuthz(ctx, policies);
        if (ext.error != null) {
            warnOnce("custom-tcp:" + ext.error, ctx.proxy.id() + ": " + ext.error
                    + "; the CUSTOM policies' connections are denied");
            return List.of(Filter.newBuilder().setName(NETWORK_RBAC).setTypedConfig(Protos.any(
                    io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.newBuilder()
                            .setStatPrefix(TCP_STAT_PREFIX).setRules(badCustomDeny(built)).build())).build());
        }
        if (ext.tcp == null) {
            logger.debug("ignored CUSTOM action with HTTP provider on TCP filter chain of {}", ctx.proxy.id());
            return List.of();
        }
        io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.Builder rbac =
                io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.newBuilder()
                        .setStatPrefix(TCP_STAT_PREFIX).setShadowRulesStatPrefix(EXT_AUTHZ_SHADOW_PREFIX)
                        .setShadowRules(built.rules() != null ? built.rules()
                                : RBAC.newBuilder().setAction(RBAC.Action.DENY).build());
        if (built.shadowRules() != null && built.shadowRules().getPoliciesCount() > 0) {
            rbac.setRules(built.shadowRules());
        }
        return List.of(Filter.newBuilder().setName(NETWORK_RBAC).setTypedConfig(Protos.any(rbac.build())).build(),
                Filter.newBuilder().setName(NETWORK_EXT_AUTHZ).setTypedConfig(Protos.any(ext.tcp)).build());
    }

    /** Istio's {@code getBadCustomDenyRules}: every CUSTOM policy as a DENY policy, renamed. */
    private static RBAC badCustomDeny(Built b) {
        RBAC.Builder out = RBAC.newBuilder().setAction(RBAC.Action.DENY);
        for (RBAC r : new RBAC[] {b.rules(), b.shadowRules()}) {
            if (r != null) {
                r.getPoliciesMap().forEach((k, v) -> out.putPolicies(k + BAD_CUSTOM_SUFFIX, v));
            }
        }
        return out.build();
    }

    /** Logs {@code message} the first time {@code key} is seen (keys come from config, so the set stays bounded). */
    private static void warnOnce(String key, String message) {
        if (warned.add(key)) {
            logger.warn("{}", message);
        }
    }

    /** The ext_authz configs of the one provider the CUSTOM policies name, or why there is none. */
    private record ExtAuthzConfig(ExtAuthz http, io.envoyproxy.envoy.extensions.filters.network.ext_authz.v3.ExtAuthz tcp,
                                  String error) {}

    private static ExtAuthzConfig extAuthz(GenerationContext ctx, List<Config<AuthorizationPolicy>> policies) {
        Set<String> names = new LinkedHashSet<>();
        for (Config<AuthorizationPolicy> c : policies) {
            names.add(c.spec().provider().name());
        }
        if (names.size() > 1) {
            return new ExtAuthzConfig(null, null, "all extension providers must be the same for a specific workload, "
                    + "found multiple different providers: " + names);
        }
        String name = names.iterator().next();
        MeshConfig mesh = ctx.snapshot.meshConfig();
        MeshConfig.ExtensionProvider p = mesh.extensionProvider(name);
        if (p == null) {
            List<String> available = new ArrayList<>();
            mesh.extensionProviders().forEach(e -> available.add(e == null ? "" : e.name()));
            return new ExtAuthzConfig(null, null, "meshConfig.extensionProviders: extension provider " + name
                    + " not found (expected: one of " + available + ")");
        }
        String path = "meshConfig.extensionProviders[" + name + "]";
        try {
            if (p.envoyExtAuthzHttp() != null) {
                return new ExtAuthzConfig(httpExtAuthz(ctx, p.envoyExtAuthzHttp(), path + ".envoyExtAuthzHttp"), null, null);
            }
            if (p.envoyExtAuthzGrpc() != null) {
                return grpcExtAuthz(ctx, p.envoyExtAuthzGrpc(), path + ".envoyExtAuthzGrpc");
            }
        } catch (IllegalArgumentException e) {
            return new ExtAuthzConfig(null, null, e.getMessage());
        }
        return new ExtAuthzConfig(null, null, path + ": unsupported extension provider (expected: envoyExtAuthzHttp "
                + "or envoyExtAuthzGrpc)");
    }

    private static MetadataMatcher filterEnabled(String filter) {
        return MetadataMatcher.newBuilder().setFilter(filter)
                .addPath(MetadataMatcher.PathSegment.newBuilder()
                        .setKey(EXT_AUTHZ_SHADOW_PREFIX + "shadow_effective_policy_id"))
                .setValue(ValueMatcher.newBuilder().setStringMatch(
                        StringMatcher.newBuilder().setPrefix(EXT_AUTHZ_POLICY_PREFIX)))
                .build();
    }

    private static ExtAuthz httpExtAuthz(GenerationContext ctx, MeshConfig.EnvoyExtAuthzHttp c, String path) {
        int port = port(c.port(), path + ".port");
        String host = serviceHost(ctx, c.service(), path + ".service");
        String cluster = ClusterGenerator.outboundName(port, null, host);
        HttpService.Builder svc = HttpService.newBuilder()
                .setServerUri(HttpUri.newBuilder().setUri("http://" + host).setCluster(cluster)
                        .setTimeout(timeout(c.timeout(), path + ".timeout")));
        if (c.pathPrefix() != null && !c.pathPrefix().isEmpty()) {
            if (!c.pathPrefix().startsWith("/")) {
                throw new IllegalArgumentException(path + ".pathPrefix: " + c.pathPrefix()
                        + " (expected: pathPrefix must begin with `/`)");
            }
            svc.setPathPrefix(c.pathPrefix());
        }
        if (!c.includeAdditionalHeadersInCheck().isEmpty()) {
            AuthorizationRequest.Builder req = AuthorizationRequest.newBuilder();
            c.includeAdditionalHeadersInCheck().forEach((k, v) ->
                    req.addHeadersToAdd(HeaderValue.newBuilder().setKey(k).setValue(v)));
            svc.setAuthorizationRequest(req);
        }
        if (!c.headersToUpstreamOnAllow().isEmpty() || !c.headersToDownstreamOnDeny().isEmpty()
                || !c.headersToDownstreamOnAllow().isEmpty()) {
            AuthorizationResponse.Builder resp = AuthorizationResponse.newBuilder();
            if (!c.headersToUpstreamOnAllow().isEmpty()) {
                resp.setAllowedUpstreamHeaders(headers(c.headersToUpstreamOnAllow()));
            }
            if (!c.headersToDownstreamOnDeny().isEmpty()) {
                resp.setAllowedClientHeaders(headers(c.headersToDownstreamOnDeny()));
            }
            if (!c.headersToDownstreamOnAllow().isEmpty()) {
                resp.setAllowedClientHeadersOnSuccess(headers(c.headersToDownstreamOnAllow()));
            }
            svc.setAuthorizationResponse(resp);
        }
        ExtAuthz.Builder out = ExtAuthz.newBuilder()
                .setHttpService(svc)
                .setFailureModeAllow(Boolean.TRUE.equals(c.failOpen()))
                .setTransportApiVersion(ApiVersion.V3)
                .setFilterEnabledMetadata(filterEnabled(HTTP_RBAC));
        List<String> include = new ArrayList<>(c.includeRequestHeadersInCheck());
        include.addAll(c.includeHeadersInCheck());
        if (!include.isEmpty()) {
            out.setAllowedHeaders(headers(include));
        }
        HttpStatus status = status(c.statusOnError(), path + ".statusOnError");
        if (status != null) {
            out.setStatusOnError(status);
        }
        if (c.includeRequestBodyInCheck() != null) {
            out.setWithRequestBody(body(c.includeRequestBodyInCheck()));
        }
        return out.build();
    }

    private static ExtAuthzConfig grpcExtAuthz(GenerationContext ctx, MeshConfig.EnvoyExtAuthzGrpc c, String path) {
        int port = port(c.port(), path + ".port");
        String host = serviceHost(ctx, c.service(), path + ".service");
        String cluster = ClusterGenerator.outboundName(port, null, host);
        // '|' is not valid in an authority: Istio replaces it so that the server does not refuse the stream.
        GrpcService grpc = GrpcService.newBuilder()
                .setEnvoyGrpc(GrpcService.EnvoyGrpc.newBuilder().setClusterName(cluster)
                        .setAuthority(cluster.replace("|", "_.")))
                .setTimeout(timeout(c.timeout(), path + ".timeout"))
                .build();
        boolean failOpen = Boolean.TRUE.equals(c.failOpen());
        ExtAuthz.Builder http = ExtAuthz.newBuilder()
                .setGrpcService(grpc)
                .setFailureModeAllow(failOpen)
                .setTransportApiVersion(ApiVersion.V3)
                .setFilterEnabledMetadata(filterEnabled(HTTP_RBAC));
        HttpStatus status = status(c.statusOnError(), path + ".statusOnError");
        if (status != null) {
            http.setStatusOnError(status);
        }
        if (c.includeRequestBodyInCheck() != null) {
            http.setWithRequestBody(body(c.includeRequestBodyInCheck()));
        }
        io.envoyproxy.envoy.extensions.filters.network.ext_authz.v3.ExtAuthz tcp =
                io.envoyproxy.envoy.extensions.filters.network.ext_authz.v3.ExtAuthz.newBuilder()
                        .setStatPrefix(TCP_STAT_PREFIX)
                        .setGrpcService(grpc)
                        .setFailureModeAllow(failOpen)
                        .setTransportApiVersion(ApiVersion.V3)
                        .setFilterEnabledMetadata(filterEnabled(NETWORK_RBAC))
                        .build();
        return new ExtAuthzConfig(http.build(), tcp, null);
    }

    private static int port(Integer port, String path) {
        if (port == null || port < 1 || port > 65535) {
            throw new IllegalArgumentException(path + ": " + port + " (expected: port must be in the range [1, 65535])");
        }
        return port;
    }

    /**
     * The host of the provider's {@code service}: {@code <namespace>/<name>} (the service {@code name} in
     * {@code namespace}) or a host name as the registry knows it.
     */
    private static String serviceHost(GenerationContext ctx, String service, String path) {
        if (service == null || service.isEmpty()) {
            throw new IllegalArgumentException(path + ": missing (expected: service must not be empty)");
        }
        int slash = service.indexOf('/');
        if (slash > 0) {
            String ns = service.substring(0, slash);
            String name = service.substring(slash + 1);
            for (Service s : ctx.snapshot.services().values()) {
                if (s.namespace().equals(ns) && !s.hostname().startsWith("*")
                        && (s.hostname().equals(name) || s.hostname().startsWith(name + "." + ns + "."))) {
                    return s.hostname();
                }
            }
        } else if (ctx.snapshot.service(service) != null) {
            return service;
        }
        throw new IllegalArgumentException(path + ": " + service
                + " (expected: a service in the registry; could not find valid hostname for service " + service + ")");
    }

    private static com.google.protobuf.Duration timeout(String timeout, String path) {
        if (timeout == null || timeout.isEmpty()) {
            return com.google.protobuf.Duration.newBuilder().setSeconds(600).build();
        }
        try {
            return Protos.duration(timeout);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(path + ": " + timeout + " (expected: a duration, e.g. 0.5s)");
        }
    }

    private static HttpStatus status(String status, String path) {
        if (status == null || status.isEmpty()) {
            return null;
        }
        StatusCode code = null;
        try {
            code = StatusCode.forNumber(Integer.parseInt(status));
        } catch (NumberFormatException ignored) {
            // refused below
        }
        if (code == null || code == StatusCode.Empty) {
            throw new IllegalArgumentException(path + ": " + status + " (expected: an HTTP status code Envoy knows)");
        }
        return HttpStatus.newBuilder().setCode(code).build();
    }

    private static BufferSettings body(MeshConfig.RequestBody b) {
        BufferSettings.Builder out = BufferSettings.newBuilder();
        if (b.maxRequestBytes() != null) {
            out.setMaxRequestBytes(b.maxRequestBytes());
        }
        out.setAllowPartialMessage(Boolean.TRUE.equals(b.allowPartialMessage()));
        out.setPackAsBytes(Boolean.TRUE.equals(b.packAsBytes()));
        return out.build();
    }

    /** Header names as Istio's {@code generateHeaders}: exact, or prefix/suffix for a trailing/leading {@code *}. */
    private static ListStringMatcher headers(List<String> names) {
        ListStringMatcher.Builder out = ListStringMatcher.newBuilder();
        for (String h : names) {
            StringMatcher.Builder m = StringMatcher.newBuilder().setIgnoreCase(true);
            if (h.equals("*")) {
                out.addPatterns(StringMatcher.newBuilder().setSafeRegex(RegexMatcher.newBuilder().setRegex(".+")));
                continue;
            } else if (h.startsWith("*")) {
                m.setSuffix(h.substring(1));
            } else if (h.endsWith("*")) {
                m.setPrefix(h.substring(0, h.length() - 1));
            } else {
                m.setExact(h);
            }
            out.addPatterns(m);
        }
        return out.build();
    }
}
