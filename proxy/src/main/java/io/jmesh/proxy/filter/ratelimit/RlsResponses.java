package io.jmesh.proxy.filter.ratelimit;

import com.google.protobuf.util.Durations;

import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.netty.handler.codec.http.HttpHeaders;

/** What a rate limit service's answer puts on a response: its headers and Envoy's draft-03 {@code x-ratelimit-*}. */
final class RlsResponses {

    private RlsResponses() {}

    /**
     * Adds {@code x-ratelimit-limit}, {@code -remaining}, {@code -reset} (IETF draft 03, as Envoy's
     * {@code XRateLimitHeaderUtils}) from the descriptor status with the fewest remaining requests:
     * {@code x-ratelimit-limit: 10, 10;w=60, 1000;w=3600} (that status first, then every limit with its window).
     */
    static void addXRateLimitHeaders(RateLimitResponse r, HttpHeaders h) {
        RateLimitResponse.DescriptorStatus min = null;
        for (RateLimitResponse.DescriptorStatus s : r.getStatusesList()) {
            if (s.hasCurrentLimit() && (min == null || s.getLimitRemaining() < min.getLimitRemaining())) {
                min = s;
            }
        }
        if (min == null) {
            return;
        }
        StringBuilder limit = new StringBuilder().append(Integer.toUnsignedString(min.getCurrentLimit()
                .getRequestsPerUnit()));
        for (RateLimitResponse.DescriptorStatus s : r.getStatusesList()) {
            if (!s.hasCurrentLimit()) {
                continue;
            }
            limit.append(", ").append(Integer.toUnsignedString(s.getCurrentLimit().getRequestsPerUnit()))
                 .append(";w=").append(window(s.getCurrentLimit().getUnit()));
            if (!s.getCurrentLimit().getName().isEmpty()) {
                limit.append(";name=\"").append(s.getCurrentLimit().getName()).append('"');
            }
        }
        h.set("x-ratelimit-limit", limit.toString());
        h.set("x-ratelimit-remaining", Integer.toUnsignedString(min.getLimitRemaining()));
        if (min.hasDurationUntilReset()) {
            h.set("x-ratelimit-reset", Long.toString(Durations.toSeconds(min.getDurationUntilReset())));
        }
    }

    /** The unit's window in seconds. */
    static long window(RateLimitResponse.RateLimit.Unit unit) {
        switch (unit) {
            case SECOND:
                return 1;
            case MINUTE:
                return 60;
            case HOUR:
                return 3600;
            case DAY:
                return 86400;
            case WEEK:
                return 604800;
            case MONTH:
                return 2592000;
            case YEAR:
                return 31536000;
            default:
                return 0;
        }
    }

    static void add(Iterable<HeaderValue> values, HttpHeaders h) {
        for (HeaderValue v : values) {
            h.set(v.getKey(), v.getValue());
        }
    }
}
