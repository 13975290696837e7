package io.jmesh.proxy.filter.rbac;

import java.util.List;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;

import io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.network.FilterStatus;
import io.jmesh.proxy.network.NetworkFilterFactory;
import io.jmesh.proxy.network.NetworkFilterInstaller;
import io.jmesh.proxy.network.ReadFilter;
import io.jmesh.proxy.network.ReadFilterCallbacks;
import io.netty.buffer.ByteBuf;

/**
 * {@code envoy.filters.network.rbac} ({@code extensions.filters.network.rbac.v3.RBAC}): the RBAC engine over the
 * connection (addresses, ports, SNI, the peer certificate; header and path rules never match). It decides on the
 * first bytes from the client (after the TLS handshake, so the peer certificate is known) and, with
 * {@code enforcement_type: CONTINUOUS}, again on every later read. A denied connection is closed (after
 * {@code delay_deny}, reading nothing more meanwhile). Stats {@code <stat_prefix>rbac.allowed}, {@code denied},
 * {@code <shadow_rules_stat_prefix>shadow_allowed}, {@code shadow_denied}, as Envoy names them.
 */
public final class NetworkRbacFilterFactory implements NetworkFilterFactory {

    private static final Logger logger = LoggerFactory.getLogger(NetworkRbacFilterFactory.class);

    /** Envoy's canonical name. */
    public static final String NAME = "envoy.filters.network.rbac";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<String> typeUrls() {
        return List.of(EnvoyTypes.typeUrl(RBAC.getDescriptor()));
    }

    @Override
    public NetworkFilterInstaller create(Any typedConfig, Context context) throws ConfigException {
        RBAC config;
        try {
            config = typedConfig.unpack(RBAC.class);
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException("typed_config: " + typedConfig.getTypeUrl() + " (expected: type.googleapis.com/"
                                      + RBAC.getDescriptor().getFullName() + ")", e);
        }
        if (config.getStatPrefix().isEmpty()) {
            throw new ConfigException("typed_config.stat_prefix: \"\" (expected: a non-empty prefix)");
        }
        if (config.hasMatcher()) {
            throw new ConfigException("typed_config.matcher: (expected: rules; the matcher API is not supported)");
        }
        if (config.hasShadowMatcher()) {
            throw new ConfigException("typed_config.shadow_matcher: (expected: shadow_rules; the matcher API is not"
                                      + " supported)");
        }
        if (config.getEnforcementType() == RBAC.EnforcementType.UNRECOGNIZED) {
            throw new ConfigException("typed_config.enforcement_type: " + config.getEnforcementTypeValue()
                                      + " (expected: ONE_TIME_ON_FIRST_BYTE or CONTINUOUS)");
        }
        RbacPolicies policies;
        try {
            policies = new RbacPolicies(config.hasRules() ? config.getRules() : null, "",
                    config.hasShadowRules() ? config.getShadowRules() : null, config.getShadowRulesStatPrefix(),
                    context.stats(), config.getStatPrefix(), NAME);
        } catch (ConfigException e) {
            throw e.under("typed_config");
        }
        boolean continuous = config.getEnforcementType() == RBAC.EnforcementType.CONTINUOUS;
        long delayMillis = config.hasDelayDeny() ? config.getDelayDeny().getSeconds() * 1000
                                                   + config.getDelayDeny().getNanos() / 1_000_000 : 0;
        return m -> m.addReadFilter(new Filter(policies, continuous, delayMillis));
    }

    /** The filter of one connection. */
    private static final class Filter implements ReadFilter {
        private final RbacPolicies policies;
        private final boolean continuous;
        private final long delayMillis;
        private ReadFilterCallbacks callbacks;
        private boolean decided;
        private boolean denied;

        Filter(RbacPolicies policies, boolean continuous, long delayMillis) {
            this.policies = policies;
            this.continuous = continuous;
            this.delayMillis = delayMillis;
        }

        @Override
        public void initializeReadFilterCallbacks(ReadFilterCallbacks callbacks) {
            this.callbacks = callbacks;
        }

        @Override
        public FilterStatus onData(ByteBuf data) {
            if (denied) {
                return FilterStatus.STOP_ITERATION;
            }
            if (decided && !continuous) {
                return FilterStatus.CONTINUE;
            }
            decided = true;
            RbacEngine.Decision d = policies.check(null, callbacks.connectionInfo(), null);
            if (d == null || d.allowed()) {
                return FilterStatus.CONTINUE;
            }
            denied = true;
            var channel = callbacks.connection();
            String detail = RbacPolicies.denialDetail(d);
            callbacks.connectionInfo().terminationDetails(detail); // %CONNECTION_TERMINATION_DETAILS%, as Envoy
            logger.debug("{} closed: {}", channel, detail);
            if (delayMillis > 0) {
                channel.eventLoop().schedule(() -> {
                    channel.close();
                }, delayMillis, TimeUnit.MILLISECONDS);
            } else {
                channel.close();
            }
            return FilterStatus.STOP_ITERATION;
        }
    }
}
