package io.jmesh.proxy.filter.jwt;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;

import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.HttpFilterFactory;

/**
 * {@code envoy.filters.http.jwt_authn} with a {@link JwtAuthentication} config, and a {@link PerRouteConfig} per
 * route ({@code disabled}, or {@code requirement_name} from the {@code requirement_map}). Remote JWKS are fetched
 * through the HCM's cluster manager. Stats: {@code http.<stat_prefix>.jwt_authn.allowed}, {@code denied},
 * {@code cors_preflight_bypassed}, {@code jwks_fetch_success}, {@code jwks_fetch_failed}, {@code jwt_cache_hit},
 * {@code jwt_cache_miss} (a provider with {@code jwt_cache_config} keeps verified tokens, class {@code JwtCache}).
 */
public final class JwtAuthnFilterFactory implements HttpFilterFactory {

    /** Envoy's canonical name, also the key of its {@code typed_per_filter_config} and metadata namespace. */
    public static final String NAME = "envoy.filters.http.jwt_authn";

    /** The per-route config of a route where the filter does nothing. */
    private static final Object DISABLED = new Object();

    /** A route's {@code requirement_name}. */
    private record Named(String name) {}

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Descriptor configType() {
        return JwtAuthentication.getDescriptor();
    }

    @Override
    public PerStream create(Any typedConfig, Context context) throws ConfigException {
        JwtAuthentication proto = typedConfig.getTypeUrl().isEmpty() ? JwtAuthentication.getDefaultInstance()
                : HttpFilterFactory.unpack(typedConfig, JwtAuthentication.class, JwtAuthentication.getDescriptor());
        JwtAuthnConfig config = JwtAuthnConfig.create(proto, context.stats(), context.statPrefix(),
                context.clusterManager(), context.eventLoopGroup());
        return route -> {
            Object perRoute = route == null ? null : route.perFilterConfig(NAME);
            if (perRoute == DISABLED) {
                return null;
            }
            if (perRoute instanceof Named n) {
                Requirement r = config.requirementMap.get(n.name());
                // an unknown name fails closed: a requirement no token can meet
                return new JwtAuthnFilter(config, r != null ? r : new Requirement.Any(java.util.List.of()));
            }
            return config.hasRules() ? new JwtAuthnFilter(config, null) : null;
        };
    }

    @Override
    public Object createRouteConfig(Any typedConfig) throws ConfigException {
        PerRouteConfig p = HttpFilterFactory.unpack(typedConfig, PerRouteConfig.class, PerRouteConfig.getDescriptor());
        return switch (p.getRequirementSpecifierCase()) {
            case DISABLED -> {
                if (!p.getDisabled()) {
                    throw new ConfigException("disabled: false (expected: true, or requirement_name)");
                }
                yield DISABLED;
            }
            case REQUIREMENT_NAME -> {
                if (p.getRequirementName().isEmpty()) {
                    throw new ConfigException("requirement_name: \"\" (expected: a key of requirement_map)");
                }
                yield new Named(p.getRequirementName());
            }
            default -> throw new ConfigException("{} (expected: disabled or requirement_name)");
        };
    }
}
