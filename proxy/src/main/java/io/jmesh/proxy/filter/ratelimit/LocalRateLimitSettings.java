package io.jmesh.proxy.filter.ratelimit;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.function.LongSupplier;

import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.VhRateLimitsOptions;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.XRateLimitHeadersRFCVersion;
import io.envoyproxy.envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.FractionalPercents;
import io.jmesh.proxy.router.RateLimitPolicy;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.Stats;

/**
 * One validated {@code LocalRateLimit} (filter level or per route) with its buckets. Immutable apart from the
 * buckets; thread-safe.
 */
final class LocalRateLimitSettings {

    final String statPrefix;
    final int status;
    final LocalRateLimiter limiter;
    final boolean perConnection;
    final int enabledNumerator;
    final int enabledDenominator;
    final int enforcedNumerator;
    final int enforcedDenominator;
    final ResponseHeaders responseHeaders;
    final ResponseHeaders requestHeadersWhenNotEnforced;
    final boolean xRateLimitHeaders;
    final int stage;
    final Descriptors.VhRateLimits vhRateLimits;
    final int grpcStatus;
    /** The filter's own {@code rate_limits}, which replace the route's when set. */
    final List<RateLimitPolicy> ownRateLimits;
    private final Map<ConnectionInfo, LocalRateLimiter> byConnection =
            Collections.synchronizedMap(new WeakHashMap<>());
    private volatile StatsHolder stats;

    private record StatsHolder(Stats scope, Counter enabled, Counter enforced, Counter rateLimited, Counter ok) {}

    private LocalRateLimitSettings(LocalRateLimit c, LongSupplier clock) throws ConfigException {
        if (c.getStatPrefix().isEmpty()) {
            throw new ConfigException("stat_prefix: \"\" (expected: a non-empty prefix)");
        }
        statPrefix = c.getStatPrefix();
        int code = c.hasStatus() ? c.getStatus().getCodeValue() : 429;
        status = code < 400 ? 429 : code;
        if (status > 599) {
            throw new ConfigException("status.code: " + code + " (expected: 400..599)");
        }
        if (c.hasLocalClusterRateLimit()) {
            throw new ConfigException("local_cluster_rate_limit: set (expected: unset; not supported)");
        }
        if (c.hasMaxDynamicDescriptors()) {
            throw new ConfigException("max_dynamic_descriptors: set (expected: unset; wildcard descriptors are not"
                    + " supported)");
        }
        boolean alwaysDefault = !c.hasAlwaysConsumeDefaultTokenBucket()
                || c.getAlwaysConsumeDefaultTokenBucket().getValue();
        limiter = LocalRateLimiter.create(c.hasTokenBucket() ? c.getTokenBucket() : null, c.getDescriptorsList(),
                alwaysDefault, "", clock);
        perConnection = c.getLocalRateLimitPerDownstreamConnection();
        int[] en = percent(c.hasFilterEnabled() ? c.getFilterEnabled() : null, "filter_enabled");
        enabledNumerator = en[0];
        enabledDenominator = en[1];
        int[] ef = percent(c.hasFilterEnforced() ? c.getFilterEnforced() : null, "filter_enforced");
        enforcedNumerator = ef[0];
        enforcedDenominator = ef[1];
        responseHeaders = ResponseHeaders.from(c.getResponseHeadersToAddList(), "response_headers_to_add");
        requestHeadersWhenNotEnforced = ResponseHeaders.from(c.getRequestHeadersToAddWhenNotEnforcedList(),
                "request_headers_to_add_when_not_enforced");
        if (c.getEnableXRatelimitHeaders() != XRateLimitHeadersRFCVersion.OFF
                && c.getEnableXRatelimitHeaders() != XRateLimitHeadersRFCVersion.DRAFT_VERSION_03) {
            throw new ConfigException("enable_x_ratelimit_headers: " + c.getEnableXRatelimitHeadersValue()
                    + " (expected: OFF or DRAFT_VERSION_03)");
        }
        xRateLimitHeaders = c.getEnableXRatelimitHeaders() == XRateLimitHeadersRFCVersion.DRAFT_VERSION_03;
        if (c.getStage() > 10) {
            throw new ConfigException("stage: " + c.getStage() + " (expected: <= 10)");
        }
        stage = c.getStage();
        vhRateLimits = vh(c.getVhRateLimits(), c.getVhRateLimitsValue());
        grpcStatus = c.getRateLimitedAsResourceExhausted() ? 8 : 14;
        ownRateLimits = RateLimitPolicy.fromList(c.getRateLimitsList(), "rate_limits");
    }

    static LocalRateLimitSettings from(LocalRateLimit c, LongSupplier clock) throws ConfigException {
        return new LocalRateLimitSettings(c, clock);
    }

    static Descriptors.VhRateLimits vh(VhRateLimitsOptions o, int value) throws ConfigException {
        switch (o) {
            case OVERRIDE:
                return Descriptors.VhRateLimits.OVERRIDE;
            case INCLUDE:
                return Descriptors.VhRateLimits.INCLUDE;
            case IGNORE:
                return Descriptors.VhRateLimits.IGNORE;
            default:
                throw new ConfigException("vh_rate_limits: " + value + " (expected: OVERRIDE, INCLUDE or IGNORE)");
        }
    }

    /** {@code runtime_key} is ignored (jmesh has no runtime); unset means 0%, as in Envoy. */
    static int[] percent(RuntimeFractionalPercent p, String path) throws ConfigException {
        if (p == null) {
            return new int[] {0, 100};
        }
        int d = FractionalPercents.denominator(p.getDefaultValue(), path + ".default_value.denominator");
        return new int[] {p.getDefaultValue().getNumerator(), d};
    }

    /** The limiter for a request on {@code connection}: the shared one, or the connection's own. */
    LocalRateLimiter limiter(ConnectionInfo connection) {
        if (!perConnection || connection == null) {
            return limiter;
        }
        return byConnection.computeIfAbsent(connection, k -> limiter.copy());
    }

    Counter enabled(Stats s) {
        return holder(s).enabled;
    }

    Counter enforced(Stats s) {
        return holder(s).enforced;
    }

    Counter rateLimited(Stats s) {
        return holder(s).rateLimited;
    }

    Counter ok(Stats s) {
        return holder(s).ok;
    }

    private StatsHolder holder(Stats s) {
        StatsHolder h = stats;
        if (h == null || h.scope != s) {
            String p = statPrefix + ".http_local_rate_limit.";
            h = new StatsHolder(s, s.counter(p + "enabled"), s.counter(p + "enforced"), s.counter(p + "rate_limited"),
                    s.counter(p + "ok"));
            stats = h;
        }
        return h;
    }
}
