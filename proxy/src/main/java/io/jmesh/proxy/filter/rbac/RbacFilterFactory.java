package io.jmesh.proxy.filter.rbac;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;

import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBACPerRoute;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.HttpFilterFactory;
import io.jmesh.proxy.filter.StreamDecoderFilter;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.jmesh.proxy.stream.RequestAttributes;
import io.netty.handler.codec.http.HttpRequest;

/**
 * {@code envoy.filters.http.rbac} ({@code extensions.filters.http.rbac.v3.RBAC}): a denied request gets
 * {@code 403 RBAC: access denied} (a gRPC request: {@code PERMISSION_DENIED}), response code details
 * {@code rbac_access_denied_matched_policy[<policy>]}. Stats {@code http.<stat_prefix>.rbac.allowed}, {@code denied},
 * {@code <shadow_rules_stat_prefix>shadow_allowed}, {@code shadow_denied}; the shadow result is in dynamic metadata
 * under {@code envoy.filters.http.rbac} ({@code shadow_effective_policy_id}, {@code shadow_engine_result}). A route's
 * {@code RBACPerRoute} replaces the filter's config; one without {@code rbac} turns the filter off on that route.
 */
public final class RbacFilterFactory implements HttpFilterFactory {

    /** Envoy's canonical name, also the dynamic metadata namespace and the per-route config key. */
    public static final String NAME = "envoy.filters.http.rbac";

    /** The local reply body, as Envoy's. */
    public static final String DENIED_BODY = "RBAC: access denied";

    private static final Object DISABLED = new Object();

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Descriptor configType() {
        return RBAC.getDescriptor();
    }

    @Override
    public PerStream create(Any typedConfig, Context context) throws ConfigException {
        RbacPolicies defaults = typedConfig.getTypeUrl().isEmpty() ? null
                : policies(HttpFilterFactory.unpack(typedConfig, RBAC.class, RBAC.getDescriptor()), context, "");
        return route -> {
            Object perRoute = route == null ? null : route.perFilterConfig(NAME);
            RbacPolicies p;
            if (perRoute == null) {
                p = defaults;
            } else if (perRoute instanceof RouteRbac rr) {
                p = rr.policies(context);
            } else {
                p = null; // DISABLED
            }
            return p == null ? null : new RbacFilter(p);
        };
    }

    @Override
    public Object createRouteConfig(Any typedConfig) throws ConfigException {
        RBACPerRoute pr = HttpFilterFactory.unpack(typedConfig, RBACPerRoute.class, RBACPerRoute.getDescriptor());
        if (!pr.hasRbac()) {
            return DISABLED;
        }
        RBAC rbac = pr.getRbac();
        validate(rbac, "rbac.");
        return new RouteRbac(rbac);
    }

    private static void validate(RBAC rbac, String at) throws ConfigException {
        if (rbac.hasMatcher()) {
            throw new ConfigException(at + "matcher: (expected: rules; the matcher API is not supported)");
        }
        if (rbac.hasShadowMatcher()) {
            throw new ConfigException(at + "shadow_matcher: (expected: shadow_rules; the matcher API is not supported)");
        }
    }

    static RbacPolicies policies(RBAC rbac, Context context, String at) throws ConfigException {
        validate(rbac, at);
        try {
            return new RbacPolicies(rbac.hasRules() ? rbac.getRules() : null, rbac.getRulesStatPrefix(),
                    rbac.hasShadowRules() ? rbac.getShadowRules() : null, rbac.getShadowRulesStatPrefix(),
                    context.stats(), "http." + context.statPrefix() + ".", NAME);
        } catch (ConfigException e) {
            throw at.isEmpty() ? e : e.under(at.substring(0, at.length() - 1));
        }
    }

    /**
     * A route's RBAC: compiled (and validated) when the route table is built, its stats bound to the HTTP
     * connection manager of the first stream that uses it.
     */
    static final class RouteRbac {
        private final RBAC rbac;
        /** The policies bound to the stats of the last HTTP connection manager that used this route. */
        private volatile Bound bound;

        private record Bound(Context context, RbacPolicies policies) {}

        RouteRbac(RBAC rbac) throws ConfigException {
            this.rbac = rbac;
            // Compile once now so that a bad route config is refused with the route table.
            new RbacPolicies(rbac.hasRules() ? rbac.getRules() : null, "", rbac.hasShadowRules()
                    ? rbac.getShadowRules() : null, "", new io.jmesh.proxy.telemetry.Stats(), "", NAME);
        }

        RbacPolicies policies(Context context) {
            Bound b = bound;
            if (b != null && b.context() == context) {
                return b.policies();
            }
            try {
                RbacPolicies p = RbacFilterFactory.policies(rbac, context, "");
                bound = new Bound(context, p);
                return p;
            } catch (ConfigException e) {
                throw new IllegalStateException(e); // validated in the constructor
            }
        }
    }

    /** The RBAC filter of one stream. */
    static final class RbacFilter implements StreamDecoderFilter {
        private final RbacPolicies policies;
        private StreamDecoderFilterCallbacks callbacks;

        RbacFilter(RbacPolicies policies) {
            this.policies = policies;
        }

        @Override
        public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks callbacks) {
            this.callbacks = callbacks;
        }

        @Override
        public FilterHeadersStatus decodeHeaders(HttpRequest headers, boolean endStream) {
            var info = callbacks.streamInfo();
            RequestAttributes attrs = info.requestAttributes();
            RbacEngine.Decision d = policies.check(attrs, callbacks.connection(), info);
            if (d == null || d.allowed()) {
                return FilterHeadersStatus.CONTINUE;
            }
            callbacks.sendLocalReply(403, DENIED_BODY, RbacPolicies.denialDetail(d));
            return FilterHeadersStatus.STOP_ITERATION;
        }
    }
}
