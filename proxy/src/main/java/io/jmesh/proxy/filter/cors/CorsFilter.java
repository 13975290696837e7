package io.jmesh.proxy.filter.cors;

import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.HttpFilter;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.jmesh.proxy.telemetry.Counter;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;

/**
 * The CORS filter of one stream, as Envoy's {@code CorsFilter}: a request without {@code Origin}, or whose
 * route has no enabled policy, passes untouched; an origin that matches no {@code allow_origin_string_match}
 * counts {@code origin_invalid} and passes without CORS headers. A matching preflight ({@code OPTIONS} with
 * {@code Access-Control-Request-Method}) is answered 200 locally with Access-Control-Allow-Origin,
 * -Credentials, -Methods, -Headers and -Max-Age; an actual request's response gets
 * Access-Control-Allow-Origin, -Credentials and -Expose-Headers.
 */
final class CorsFilter implements HttpFilter {

    private final CorsPolicyConfig routePolicy;
    private final Counter originValid;
    private final Counter originInvalid;
    private CorsPolicyConfig policy;
    private String origin;
    private boolean preflightAnswered;
    private StreamDecoderFilterCallbacks callbacks;

    /** A filter for a stream whose route has the CORS policy {@code routePolicy}. */
    CorsFilter(CorsPolicyConfig routePolicy, Counter originValid, Counter originInvalid) {
        this.routePolicy = routePolicy;
        this.originValid = originValid;
        this.originInvalid = originInvalid;
    }

    @Override
    public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks callbacks) {
        this.callbacks = callbacks;
    }

    @Override
    public FilterHeadersStatus decodeHeaders(HttpRequest request, boolean endStream) {
        CorsPolicyConfig p = routePolicy;
        if (!p.enabled()) {
            return FilterHeadersStatus.CONTINUE;
        }
        String o = request.headers().get(HttpHeaderNames.ORIGIN);
        if (o == null || o.isEmpty()) {
            return FilterHeadersStatus.CONTINUE;
        }
        if (!p.originAllowed(o)) {
            originInvalid.inc();
            return FilterHeadersStatus.CONTINUE;
        }
        originValid.inc();
        policy = p;
        origin = o;
        String requestMethod = request.headers().get(HttpHeaderNames.ACCESS_CONTROL_REQUEST_METHOD);
        if (!HttpMethod.OPTIONS.equals(request.method()) || requestMethod == null || requestMethod.isEmpty()) {
            return FilterHeadersStatus.CONTINUE;
        }
        preflightAnswered = true;
        callbacks.sendLocalReply(200, "", "cors_response", h -> {
            h.set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, o);
            if (p.allowCredentials) {
                h.set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
            }
            setIfNotEmpty(h, HttpHeaderNames.ACCESS_CONTROL_ALLOW_METHODS, p.allowMethods);
            setIfNotEmpty(h, HttpHeaderNames.ACCESS_CONTROL_ALLOW_HEADERS, p.allowHeaders);
            setIfNotEmpty(h, HttpHeaderNames.ACCESS_CONTROL_MAX_AGE, p.maxAge);
        }, -1);
        return FilterHeadersStatus.STOP_ITERATION;
    }

    @Override
    public FilterHeadersStatus encodeHeaders(HttpResponse response, boolean endStream) {
        if (policy == null || preflightAnswered) {
            return FilterHeadersStatus.CONTINUE;
        }
        HttpHeaders h = response.headers();
        h.set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if (policy.allowCredentials) {
            h.set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
        }
        setIfNotEmpty(h, HttpHeaderNames.ACCESS_CONTROL_EXPOSE_HEADERS, policy.exposeHeaders);
        return FilterHeadersStatus.CONTINUE;
    }

    private static void setIfNotEmpty(HttpHeaders h, CharSequence name, String value) {
        if (!value.isEmpty()) {
            h.set(name, value);
        }
    }
}
