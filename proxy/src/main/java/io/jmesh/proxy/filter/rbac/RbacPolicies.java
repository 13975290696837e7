package io.jmesh.proxy.filter.rbac;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.stream.RequestAttributes;
import io.jmesh.proxy.stream.StreamInfo;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.Stats;

/**
 * What every RBAC filter does with one request, whatever its protocol: evaluate the shadow rules (count
 * {@code shadow_allowed}/{@code shadow_denied}, record the result in dynamic metadata), then the enforced rules
 * (count {@code allowed}/{@code denied}). Stats are {@code <prefix>rbac.<rules_stat_prefix>allowed} and
 * {@code <prefix>rbac.<shadow_rules_stat_prefix>shadow_allowed}, as Envoy names them. Immutable; one per filter
 * config.
 */
public final class RbacPolicies {

    /** Envoy's namespace of the LOG action's {@code access_log_hint}. */
    static final String COMMON_NAMESPACE = "envoy.common";

    private final RbacEngine engine;
    private final RbacEngine shadow;
    private final String metadataNamespace;
    private final String shadowPolicyIdField;
    private final String shadowResultField;
    private final Counter allowed;
    private final Counter denied;
    private final Counter shadowAllowed;
    private final Counter shadowDenied;
    private final Counter logged;
    private final Counter notLogged;

    /**
     * Compiles the two engines.
     *
     * @param rules             the enforced rules, or null for none (everything allowed)
     * @param shadowRules       the shadow rules, or null for none
     * @param statPrefix        the stats prefix before {@code rbac.}, e.g. {@code http.inbound_8080.}
     * @param metadataNamespace where the shadow result goes in dynamic metadata (the filter's name)
     */
    public RbacPolicies(RBAC rules, String rulesStatPrefix, RBAC shadowRules, String shadowRulesStatPrefix,
                        Stats stats, String statPrefix, String metadataNamespace) throws ConfigException {
        this.engine = rules == null ? null : RbacEngine.compile(rules, "rules");
        this.shadow = shadowRules == null ? null : RbacEngine.compile(shadowRules, "shadow_rules");
        this.metadataNamespace = metadataNamespace;
        this.shadowPolicyIdField = shadowRulesStatPrefix + "shadow_effective_policy_id";
        this.shadowResultField = shadowRulesStatPrefix + "shadow_engine_result";
        String p = statPrefix + "rbac.";
        allowed = stats.counter(p + rulesStatPrefix + "allowed");
        denied = stats.counter(p + rulesStatPrefix + "denied");
        shadowAllowed = stats.counter(p + shadowRulesStatPrefix + "shadow_allowed");
        shadowDenied = stats.counter(p + shadowRulesStatPrefix + "shadow_denied");
        logged = stats.counter(p + rulesStatPrefix + "logged");
        notLogged = stats.counter(p + rulesStatPrefix + "not_logged");
    }

    /** The enforced engine, or null. */
    public RbacEngine engine() {
        return engine;
    }

    /** The shadow engine, or null. */
    public RbacEngine shadowEngine() {
        return shadow;
    }

    /**
     * Runs the shadow rules then the enforced rules over the request and returns the enforced decision (null when
     * there are no enforced rules: allowed). {@code info} receives the shadow result, when not null.
     */
    public RbacEngine.Decision check(RequestAttributes request, ConnectionInfo connection, StreamInfo info) {
        if (shadow != null) {
            RbacEngine.Decision d = shadow.evaluate(request, connection, info);
            if (shadow.action() == RBAC.Action.LOG || d.allowed()) {
                shadowAllowed.inc();
            } else {
                shadowDenied.inc();
            }
            if (info != null) {
                Struct.Builder s = Struct.newBuilder();
                if (d.policyId() != null) {
                    s.putFields(shadowPolicyIdField, Value.newBuilder().setStringValue(d.policyId()).build());
                }
                s.putFields(shadowResultField, Value.newBuilder().setStringValue(d.allowed() ? "allowed" : "denied")
                        .build());
                info.setDynamicMetadata(metadataNamespace, s.build());
            }
        }
        if (engine == null) {
            return null;
        }
        RbacEngine.Decision d = engine.evaluate(request, connection, info);
        if (engine.action() == RBAC.Action.LOG) {
            boolean hint = engine.logHint(d);
            (hint ? logged : notLogged).inc();
            if (info != null) {
                info.setDynamicMetadata(COMMON_NAMESPACE, Struct.newBuilder().putFields("access_log_hint",
                        Value.newBuilder().setBoolValue(hint).build()).build());
            }
            return d;
        }
        (d.allowed() ? allowed : denied).inc();
        return d;
    }

    /** Envoy's response (or connection termination) detail of a denial: spaces in the policy name become '_'. */
    public static String denialDetail(RbacEngine.Decision d) {
        return "rbac_access_denied_matched_policy[" + d.policyIdOrNone().replaceAll("\\s", "_") + "]";
    }
}
