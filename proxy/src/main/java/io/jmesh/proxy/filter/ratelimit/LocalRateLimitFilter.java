package io.jmesh.proxy.filter.ratelimit;

import java.util.List;

import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.FractionalPercents;
import io.jmesh.proxy.filter.HttpFilter;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.jmesh.proxy.network.http.HttpRequestAttributes;
import io.jmesh.proxy.router.RateLimitPolicy;
import io.jmesh.proxy.router.RouteEntry;
import io.jmesh.proxy.stream.RequestAttributes;
import io.jmesh.proxy.stream.ResponseFlag;
import io.jmesh.proxy.telemetry.Stats;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;

/**
 * The local rate limit of one stream, in Envoy's order: roll {@code filter_enabled}; take a token from the matching
 * buckets; when none is left roll {@code filter_enforced} and answer {@code status} (429) {@code local_rate_limited}
 * with {@code x-envoy-ratelimited} and {@code response_headers_to_add} (response flag RL), or, not enforced, add
 * {@code request_headers_to_add_when_not_enforced} and go on. With {@code enable_x_ratelimit_headers} every response
 * (local reply included) gets {@code x-ratelimit-limit}, {@code -remaining} and {@code -reset} of the deciding bucket.
 */
final class LocalRateLimitFilter implements HttpFilter {

    private final LocalRateLimitSettings s;
    private final Stats stats;
    private StreamDecoderFilterCallbacks callbacks;
    private TokenBucket bucket;

    LocalRateLimitFilter(LocalRateLimitSettings settings, Stats stats) {
        this.s = settings;
        this.stats = stats;
    }

    @Override
    public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks callbacks) {
        this.callbacks = callbacks;
    }

    @Override
    public FilterHeadersStatus decodeHeaders(HttpRequest request, boolean endStream) {
        if (!FractionalPercents.roll(s.enabledNumerator, s.enabledDenominator)) {
            return FilterHeadersStatus.CONTINUE;
        }
        s.enabled(stats).inc();
        LocalRateLimiter limiter = s.limiter(callbacks.connection());
        List<List<RateLimitPolicy.Entry>> descriptors = List.of();
        if (limiter.hasDescriptors()) {
            RequestAttributes attrs = callbacks.streamInfo().requestAttributes();
            if (attrs == null) {
                attrs = new HttpRequestAttributes(request, callbacks.connection(), "http");
            }
            RouteEntry route = callbacks.route();
            String cluster = route != null && route.kind() == RouteEntry.Kind.ROUTE ? route.selectCluster(request) : null;
            if (!s.ownRateLimits.isEmpty()) {
                descriptors = new java.util.ArrayList<>();
                Descriptors.add(s.ownRateLimits, s.stage, attrs, context(cluster), descriptors);
            } else {
                descriptors = Descriptors.of(route, s.stage, s.vhRateLimits, attrs, cluster);
            }
        }
        LocalRateLimiter.Result r = limiter.check(descriptors);
        bucket = r.bucket();
        if (r.allowed()) {
            s.ok(stats).inc();
            return FilterHeadersStatus.CONTINUE;
        }
        s.rateLimited(stats).inc();
        if (!FractionalPercents.roll(s.enforcedNumerator, s.enforcedDenominator)) {
            s.requestHeadersWhenNotEnforced.apply(request.headers());
            return FilterHeadersStatus.CONTINUE;
        }
        s.enforced(stats).inc();
        callbacks.addResponseFlag(ResponseFlag.RATE_LIMITED);
        callbacks.sendLocalReply(s.status, "local_rate_limited", "local_rate_limited", h -> {
            h.set("x-envoy-ratelimited", "true");
            s.responseHeaders.apply(h);
        }, io.jmesh.proxy.network.http.LocalReply.isGrpc(request) ? s.grpcStatus : -1);
        return FilterHeadersStatus.STOP_ITERATION;
    }

    private static RateLimitPolicy.Context context(String cluster) {
        return new RateLimitPolicy.Context() {
            @Override
            public String localServiceCluster() {
                return Descriptors.localServiceCluster();
            }

            @Override
            public String destinationCluster() {
                return cluster;
            }
        };
    }

    @Override
    public FilterHeadersStatus encodeHeaders(HttpResponse headers, boolean endStream) {
        TokenBucket b = bucket;
        if (s.xRateLimitHeaders && b != null) {
            headers.headers().set("x-ratelimit-limit", Long.toString(b.maxTokens()));
            headers.headers().set("x-ratelimit-remaining", Long.toString(b.remaining()));
            headers.headers().set("x-ratelimit-reset", Long.toString(b.secondsUntilFill()));
        }
        return FilterHeadersStatus.CONTINUE;
    }
}
