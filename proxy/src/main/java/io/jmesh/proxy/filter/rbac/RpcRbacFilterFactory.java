package io.jmesh.proxy.filter.rbac;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;

import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.network.rpc.RpcFilter;
import io.jmesh.proxy.network.rpc.RpcFilterCallbacks;
import io.jmesh.proxy.network.rpc.RpcFilterFactory;
import io.jmesh.proxy.network.rpc.RpcRequest;
import io.jmesh.proxy.protocol.rpc.RpcStatus;

/**
 * {@code jmesh.filters.rpc.rbac}: the RBAC engine in the rpc_proxy's filter chain (Bolt, Dubbo), with the same config
 * as the HTTP filter ({@code extensions.filters.http.rbac.v3.RBAC}: {@code rules}, {@code shadow_rules},
 * {@code shadow_rules_stat_prefix}, {@code rules_stat_prefix}), so that the policies istiod writes for HTTP apply
 * unchanged: the request's host is the service (interface), its path {@code /<interface>/<method>}, its method the RPC
 * method, its headers the Bolt header map or the Dubbo attachments. A denied call gets the protocol's own error
 * ({@link RpcStatus#PERMISSION_DENIED}: SOFARPC throws {@code SofaRpcException}, Dubbo an {@code RpcException} with
 * status 40) with the message {@code RBAC: access denied}; response code details
 * {@code rbac_access_denied_matched_policy[<policy>]}. Stats {@code rpc.<stat_prefix>.rbac.allowed}, {@code denied},
 * {@code shadow_allowed}, {@code shadow_denied}; the shadow result goes in dynamic metadata under this filter's name.
 */
public final class RpcRbacFilterFactory implements RpcFilterFactory {

    /** The filter's name in an rpc_proxy's {@code filters}. */
    public static final String NAME = "jmesh.filters.rpc.rbac";

    private static final JsonFormat.Parser PARSER = JsonFormat.parser().usingTypeRegistry(EnvoyTypes.REGISTRY);

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String typeUrl() {
        return EnvoyTypes.typeUrl(RBAC.getDescriptor());
    }

    @Override
    public PerCall create(JsonNode config, Context context) throws ConfigException {
        RBAC.Builder b = RBAC.newBuilder();
        try {
            PARSER.merge(config.toString(), b);
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException("@type: " + typeUrl() + " (expected: a valid config: " + e.getMessage()
                                      + ")", e);
        }
        RBAC rbac = b.build();
        if (rbac.hasMatcher()) {
            throw new ConfigException("matcher: (expected: rules; the matcher API is not supported)");
        }
        if (rbac.hasShadowMatcher()) {
            throw new ConfigException("shadow_matcher: (expected: shadow_rules; the matcher API is not supported)");
        }
        RbacPolicies policies = new RbacPolicies(rbac.hasRules() ? rbac.getRules() : null, rbac.getRulesStatPrefix(),
                rbac.hasShadowRules() ? rbac.getShadowRules() : null, rbac.getShadowRulesStatPrefix(),
                context.stats(), "rpc." + context.statPrefix() + ".", NAME);
        if (policies.engine() == null && policies.shadowEngine() == null) {
            return null;
        }
        RpcFilter filter = new RpcFilter() {
            @Override
            public Status onRequest(RpcRequest request, RpcFilterCallbacks callbacks) {
                RbacEngine.Decision d = policies.check(request, callbacks.connection(), callbacks.streamInfo());
                if (d == null || d.allowed()) {
                    return Status.CONTINUE;
                }
                callbacks.sendLocalReply(RpcStatus.PERMISSION_DENIED, RbacFilterFactory.DENIED_BODY,
                                         RbacPolicies.denialDetail(d));
                return Status.STOP_ITERATION;
            }
        };
        return request -> filter; // stateless: one instance for every call
    }
}
