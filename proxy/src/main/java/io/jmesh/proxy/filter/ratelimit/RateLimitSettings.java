package io.jmesh.proxy.filter.ratelimit;

import java.util.List;

import com.google.protobuf.util.Durations;

import io.envoyproxy.envoy.extensions.filters.http.ratelimit.v3.RateLimit;
import io.envoyproxy.envoy.extensions.filters.http.ratelimit.v3.RateLimitPerRoute;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.router.RateLimitPolicy;

/** A validated {@code envoy.extensions.filters.http.ratelimit.v3.RateLimit}. Immutable. */
final class RateLimitSettings {

    /** Envoy's default {@code timeout}: 20 ms. */
    static final long DEFAULT_TIMEOUT_MILLIS = 20;

    final String domain;
    final int stage;
    final long timeoutMillis;
    final boolean failureModeDeny;
    final int grpcStatus;
    final RateLimitClient client;
    final boolean xRateLimitHeaders;
    final boolean xEnvoyRateLimited;
    final int rateLimitedStatus;
    final ResponseHeaders responseHeaders;
    final int statusOnError;
    final String statPrefix;
    final int enabledNumerator;
    final int enabledDenominator;
    final int enforcedNumerator;
    final int enforcedDenominator;

    RateLimitSettings(RateLimit c) throws ConfigException {
        if (c.getDomain().isEmpty()) {
            throw new ConfigException("domain: \"\" (expected: a domain)");
        }
        domain = c.getDomain();
        if (c.getStage() > 10) {
            throw new ConfigException("stage: " + c.getStage() + " (expected: <= 10)");
        }
        stage = c.getStage();
        String type = c.getRequestType();
        if (!type.isEmpty() && !type.equals("both")) {
            throw new ConfigException("request_type: " + type + " (expected: both or unset; internal and external are"
                    + " not supported)");
        }
        timeoutMillis = c.hasTimeout() ? Durations.toMillis(c.getTimeout()) : DEFAULT_TIMEOUT_MILLIS;
        if (timeoutMillis < 0) {
            throw new ConfigException("timeout: " + Durations.toString(c.getTimeout()) + " (expected: >= 0s)");
        }
        failureModeDeny = c.getFailureModeDeny();
        grpcStatus = c.getRateLimitedAsResourceExhausted() ? 8 : 14;
        if (!c.hasRateLimitService()) {
            throw new ConfigException("rate_limit_service: unset (expected: a rate limit service)");
        }
        client = RateLimitClient.from(c.getRateLimitService(), "rate_limit_service");
        xRateLimitHeaders = c.getEnableXRatelimitHeaders() == RateLimit.XRateLimitHeadersRFCVersion.DRAFT_VERSION_03;
        if (!xRateLimitHeaders && c.getEnableXRatelimitHeadersValue() != 0) {
            throw new ConfigException("enable_x_ratelimit_headers: " + c.getEnableXRatelimitHeadersValue()
                    + " (expected: OFF or DRAFT_VERSION_03)");
        }
        xEnvoyRateLimited = !c.getDisableXEnvoyRatelimitedHeader();
        rateLimitedStatus = status(c.hasRateLimitedStatus() ? c.getRateLimitedStatus().getCodeValue() : 0, 429,
                "rate_limited_status.code");
        statusOnError = status(c.hasStatusOnError() ? c.getStatusOnError().getCodeValue() : 0, 500,
                "status_on_error.code");
        responseHeaders = ResponseHeaders.from(c.getResponseHeadersToAddList(), "response_headers_to_add");
        statPrefix = c.getStatPrefix();
        int[] en = c.hasFilterEnabled() ? LocalRateLimitSettings.percent(c.getFilterEnabled(), "filter_enabled")
                : new int[] {100, 100};
        int[] ef = c.hasFilterEnforced() ? LocalRateLimitSettings.percent(c.getFilterEnforced(), "filter_enforced")
                : new int[] {100, 100};
        enabledNumerator = en[0];
        enabledDenominator = en[1];
        enforcedNumerator = ef[0];
        enforcedDenominator = ef[1];
    }

    private static int status(int code, int dflt, String path) throws ConfigException {
        if (code == 0) {
            return dflt;
        }
        if (code < 400 || code > 599) {
            if (code < 400) {
                return dflt;
            }
            throw new ConfigException(path + ": " + code + " (expected: 400..599)");
        }
        return code;
    }

    /** A validated {@code RateLimitPerRoute}. */
    record PerRoute(Descriptors.VhRateLimits vh, List<RateLimitPolicy> rateLimits, String domain) {

        static PerRoute from(RateLimitPerRoute c) throws ConfigException {
            Descriptors.VhRateLimits vh;
            switch (c.getVhRateLimits()) {
                case OVERRIDE -> vh = Descriptors.VhRateLimits.OVERRIDE;
                case INCLUDE -> vh = Descriptors.VhRateLimits.INCLUDE;
                case IGNORE -> vh = Descriptors.VhRateLimits.IGNORE;
                default -> throw new ConfigException("vh_rate_limits: " + c.getVhRateLimitsValue()
                        + " (expected: OVERRIDE, INCLUDE or IGNORE)");
            }
            if (c.getOverrideOptionValue() != 0) {
                throw new ConfigException("override_option: " + c.getOverrideOption() + " (expected: DEFAULT)");
            }
            return new PerRoute(vh, RateLimitPolicy.fromList(c.getRateLimitsList(), "rate_limits"), c.getDomain());
        }
    }
}
