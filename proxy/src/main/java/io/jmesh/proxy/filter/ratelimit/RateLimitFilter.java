package io.jmesh.proxy.filter.ratelimit;

import java.util.ArrayList;
import java.util.List;

import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.FractionalPercents;
import io.jmesh.proxy.filter.HttpFilter;
import io.jmesh.proxy.filter.HttpFilterFactory;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.jmesh.proxy.network.http.HttpRequestAttributes;
import io.jmesh.proxy.router.RateLimitPolicy;
import io.jmesh.proxy.router.RouteEntry;
import io.jmesh.proxy.stream.RequestAttributes;
import io.jmesh.proxy.stream.ResponseFlag;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;

/**
 * The global rate limit of one stream (Envoy's {@code Filter} in {@code filters/http/ratelimit}): descriptors from
 * the route, a {@code ShouldRateLimit} call while the request waits (its body is held, with flow control), then:
 * {@code OK} goes on (with the service's {@code request_headers_to_add} on the request and
 * {@code response_headers_to_add} on the response); {@code OVER_LIMIT} answers {@code rate_limited_status} (429)
 * with {@code x-envoy-ratelimited: true}, flag RL; an error or a timeout goes on ({@code failure_mode_allowed}) or,
 * with {@code failure_mode_deny}, answers {@code status_on_error} (500), flag RLSE. A request without descriptors
 * is not sent. The stream ending first cancels the call.
 */
final class RateLimitFilter implements HttpFilter {

    private final RateLimitSettings s;
    private final RateLimitSettings.PerRoute perRoute;
    private final HttpFilterFactory.Context context;
    private StreamDecoderFilterCallbacks callbacks;
    private RateLimitClient.Call call;
    private boolean done;
    private RateLimitResponse response;

    RateLimitFilter(RateLimitSettings settings, RateLimitSettings.PerRoute perRoute, HttpFilterFactory.Context context) {
        this.s = settings;
        this.perRoute = perRoute;
        this.context = context;
    }

    @Override
    public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks callbacks) {
        this.callbacks = callbacks;
    }

    @Override
    public FilterHeadersStatus decodeHeaders(HttpRequest request, boolean endStream) {
        RouteEntry route = callbacks.route();
        if (route == null || route.kind() != RouteEntry.Kind.ROUTE
                || !FractionalPercents.roll(s.enabledNumerator, s.enabledDenominator)) {
            return FilterHeadersStatus.CONTINUE;
        }
        RequestAttributes attrs = callbacks.streamInfo().requestAttributes();
        if (attrs == null) {
            attrs = new HttpRequestAttributes(request, callbacks.connection(), "http");
        }
        String cluster = route.selectCluster(request);
        List<List<RateLimitPolicy.Entry>> descriptors;
        if (perRoute != null && !perRoute.rateLimits().isEmpty()) {
            descriptors = new ArrayList<>();
            Descriptors.add(perRoute.rateLimits(), s.stage, attrs, new RateLimitPolicy.Context() {
                @Override
                public String localServiceCluster() {
                    return Descriptors.localServiceCluster();
                }

                @Override
                public String destinationCluster() {
                    return cluster;
                }
            }, descriptors);
        } else {
            descriptors = Descriptors.of(route, s.stage,
                    perRoute == null ? Descriptors.VhRateLimits.OVERRIDE : perRoute.vh(), attrs, cluster);
        }
        if (descriptors.isEmpty()) {
            return FilterHeadersStatus.CONTINUE;
        }
        String domain = perRoute != null && !perRoute.domain().isEmpty() ? perRoute.domain() : s.domain;
        String statBase = "cluster." + cluster + '.' + (s.statPrefix.isEmpty() ? "" : s.statPrefix + '.') + "ratelimit.";
        var loop = callbacks.eventLoop();
        call = s.client.call(context.clusterManager(), RateLimitClient.request(domain, descriptors, 0), s.timeoutMillis,
                (resp, err) -> loop.execute(() -> complete(request, resp, err, statBase)));
        return done ? FilterHeadersStatus.CONTINUE : FilterHeadersStatus.STOP_ALL_ITERATION_AND_WATERMARK;
    }

    private void complete(HttpRequest request, RateLimitResponse resp, Throwable err, String statBase) {
        if (done) {
            return;
        }
        done = true;
        call = null;
        var stats = context.stats();
        if (resp != null && resp.getOverallCode() == RateLimitResponse.Code.OK) {
            stats.counter(statBase + "ok").inc();
            response = resp;
            RlsResponses.add(resp.getRequestHeadersToAddList(), request.headers());
            callbacks.continueDecoding();
            return;
        }
        if (resp != null && resp.getOverallCode() == RateLimitResponse.Code.OVER_LIMIT) {
            stats.counter(statBase + "over_limit").inc();
            response = resp;
            if (!FractionalPercents.roll(s.enforcedNumerator, s.enforcedDenominator)) {
                callbacks.continueDecoding();
                return;
            }
            callbacks.addResponseFlag(ResponseFlag.RATE_LIMITED);
            callbacks.sendLocalReply(s.rateLimitedStatus, "", "request_rate_limited", h -> {
                if (s.xEnvoyRateLimited) {
                    h.set("x-envoy-ratelimited", "true");
                }
                s.responseHeaders.apply(h);
            }, io.jmesh.proxy.network.http.LocalReply.isGrpc(request) ? s.grpcStatus : -1);
            return;
        }
        stats.counter(statBase + "error").inc();
        if (s.failureModeDeny) {
            callbacks.addResponseFlag(ResponseFlag.RATE_LIMIT_SERVICE_ERROR);
            callbacks.sendLocalReply(s.statusOnError, "", "rate_limiter_error", null, -1);
            return;
        }
        stats.counter(statBase + "failure_mode_allowed").inc();
        callbacks.continueDecoding();
    }

    @Override
    public FilterHeadersStatus encodeHeaders(HttpResponse headers, boolean endStream) {
        RateLimitResponse r = response;
        if (r != null) {
            RlsResponses.add(r.getResponseHeadersToAddList(), headers.headers());
            if (s.xRateLimitHeaders) {
                RlsResponses.addXRateLimitHeaders(r, headers.headers());
            }
        }
        return FilterHeadersStatus.CONTINUE;
    }

    @Override
    public void onDestroy() {
        done = true;
        if (call != null) {
            call.cancel();
            call = null;
        }
    }
}
