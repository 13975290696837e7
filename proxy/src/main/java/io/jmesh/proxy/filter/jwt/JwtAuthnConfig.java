package io.jmesh.proxy.filter.jwt;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RequirementRule;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.router.RouteEntry;
import io.jmesh.proxy.router.RouteTable;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.upstream.ClusterManager;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;

/**
 * A validated {@code JwtAuthentication}: providers, the rules (their {@code match} is a route match, evaluated by
 * the router's own matcher; the first rule that matches decides), the {@code requirement_map} for per-route
 * {@code requirement_name}, and the stats. Immutable apart from the key caches of its providers.
 */
final class JwtAuthnConfig {

    final Map<String, JwtProviderConfig> providers;
    final Map<String, Requirement> requirementMap;
    private final List<Requirement> ruleRequirements;
    private final RouteTable rules;
    final boolean bypassCorsPreflight;
    final boolean stripFailureResponse;
    final Stats stats;

    /** The filter's stats: {@code http.<stat_prefix>.jwt_authn.[<filter stat_prefix>.]<name>}, as Envoy's. */
    static final class Stats {
        final Counter allowed;
        final Counter denied;
        final Counter corsPreflightBypassed;
        final Counter jwksFetchSuccess;
        final Counter jwksFetchFailed;
        final Counter jwtCacheHit;
        final Counter jwtCacheMiss;

        Stats(io.jmesh.proxy.telemetry.Stats stats, String prefix) {
            allowed = stats.counter(prefix + "allowed");
            denied = stats.counter(prefix + "denied");
            corsPreflightBypassed = stats.counter(prefix + "cors_preflight_bypassed");
            jwksFetchSuccess = stats.counter(prefix + "jwks_fetch_success");
            jwksFetchFailed = stats.counter(prefix + "jwks_fetch_failed");
            jwtCacheHit = stats.counter(prefix + "jwt_cache_hit");
            jwtCacheMiss = stats.counter(prefix + "jwt_cache_miss");
        }
    }

    private JwtAuthnConfig(Map<String, JwtProviderConfig> providers, Map<String, Requirement> requirementMap,
                           List<Requirement> ruleRequirements, RouteTable rules, JwtAuthentication proto, Stats stats) {
        this.providers = providers;
        this.requirementMap = requirementMap;
        this.ruleRequirements = ruleRequirements;
        this.rules = rules;
        this.bypassCorsPreflight = proto.getBypassCorsPreflight();
        this.stripFailureResponse = proto.getStripFailureResponse();
        this.stats = stats;
    }

    static JwtAuthnConfig create(JwtAuthentication proto, io.jmesh.proxy.telemetry.Stats stats, String statPrefix,
                                 Supplier<ClusterManager> clusters, EventLoopGroup loops) throws ConfigException {
        if (proto.hasFilterStateRules()) {
            throw new ConfigException("filter_state_rules: " + proto.getFilterStateRules().getName()
                    + " (expected: unset; not supported by jmesh)");
        }
        String prefix = "http." + statPrefix + ".jwt_authn."
                        + (proto.getStatPrefix().isEmpty() ? "" : proto.getStatPrefix() + ".");
        Stats s = new Stats(stats, prefix);
        Map<String, JwtProviderConfig> providers = new LinkedHashMap<>();
        for (Map.Entry<String, io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider> e
                : new TreeMap<>(proto.getProvidersMap()).entrySet()) {
            providers.put(e.getKey(), JwtProviderConfig.create(e.getKey(), e.getValue(),
                    "providers[\"" + e.getKey() + "\"]", clusters, loops, s.jwksFetchSuccess, s.jwksFetchFailed,
                    s.jwtCacheHit, s.jwtCacheMiss));
        }
        Map<String, Requirement> requirementMap = new LinkedHashMap<>();
        for (Map.Entry<String, io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement> e
                : new TreeMap<>(proto.getRequirementMapMap()).entrySet()) {
            requirementMap.put(e.getKey(), Requirement.create(e.getValue(), providers,
                    "requirement_map[\"" + e.getKey() + "\"]"));
        }
        List<Requirement> ruleRequirements = new ArrayList<>();
        VirtualHost.Builder vh = VirtualHost.newBuilder().setName("jwt_authn_rules").addDomains("*");
        for (int i = 0; i < proto.getRulesCount(); i++) {
            RequirementRule r = proto.getRules(i);
            String path = "rules[" + i + "]";
            if (!r.hasMatch()) {
                throw new ConfigException(path + ".match: (expected: set)");
            }
            Requirement req = switch (r.getRequirementTypeCase()) {
                case REQUIRES -> Requirement.create(r.getRequires(), providers, path + ".requires");
                case REQUIREMENT_NAME -> {
                    Requirement named = requirementMap.get(r.getRequirementName());
                    if (named == null) {
                        throw new ConfigException(path + ".requirement_name: \"" + r.getRequirementName()
                                + "\" (expected: a key of requirement_map " + requirementMap.keySet() + ")");
                    }
                    yield named;
                }
                default -> null; // a rule without a requirement: matching requests are not verified
            };
            ruleRequirements.add(req);
            vh.addRoutes(Route.newBuilder().setName(Integer.toString(i)).setMatch(r.getMatch())
                    .setDirectResponse(DirectResponseAction.newBuilder().setStatus(200)));
        }
        RouteTable rules;
        try {
            rules = RouteTable.create(RouteConfiguration.newBuilder().addVirtualHosts(vh).build());
        } catch (ConfigException e) {
            throw new ConfigException(e.getMessage().replace("virtual_hosts[0].routes[", "rules[").replace("].match", "].match"), e);
        }
        return new JwtAuthnConfig(Map.copyOf(providers), Map.copyOf(requirementMap), ruleRequirements, rules, proto, s);
    }

    /** Whether any rule exists (a config without rules verifies nothing unless a route names a requirement). */
    boolean hasRules() {
        return !ruleRequirements.isEmpty();
    }

    /** The requirement of the first rule matching {@code request}, or null (no rule, or a rule without one). */
    Requirement match(HttpRequest request) {
        if (ruleRequirements.isEmpty()) {
            return null;
        }
        HttpRequest view = request;
        if (!request.headers().contains(HttpHeaderNames.HOST)) {
            view = new DefaultHttpRequest(request.protocolVersion(), request.method(), request.uri(),
                    request.headers().copy().set(HttpHeaderNames.HOST, "*"));
        }
        RouteEntry e = rules.route(view);
        return e == null ? null : ruleRequirements.get(Integer.parseInt(e.name()));
    }
}
