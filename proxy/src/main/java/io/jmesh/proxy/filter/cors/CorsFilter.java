package io.jmesh.proxy.filter.cors;

import io.jmesh.proxy.filter.HttpFilter;
import io.jmesh.proxy.filter.HttpFilterCallbacks;
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

    /** A filter for a stream whose route has the CORS policy {@code routePolicy}. */
    CorsFilter(CorsPolicyConfig routePolicy, Counter originValid, Counter originInvalid) {
        this.routePolicy = routePolicy;
        this.originValid = originValid;
        this.originInvalid = originInvalid;
    }

    @Override
    public Status onRequestHeaders(HttpRequest request, HttpFilterCallbacks callbacks) {
        CorsPolicyConfig p = routePolicy;
        if (!p.enabled()) {
            return Status.CONTINUE;
        }
        String o = request.headers().get(HttpHeaderNames.ORIGIN);
        if (o == null || o.isEmpty()) {
            return Status.CONTINUE;
        }
        if (!p.originAllowed(o)) {
            originInvalid.inc();
            return Status.CONTINUE;
        }
        originValid.inc();
        policy = p;
        origin = o;
        String requestMethod = request.headers().get(HttpHeaderNames.ACCESS_CONTROL_REQUEST_METHOD);
        if (!HttpMethod.OPTIONS.equals(request.method()) || requestMethod == null || requestMethod.isEmpty()) {
            return Status.CONTINUE;
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
        });
        return Status.STOP;
    }

    @Override
    public void onResponseHeaders(HttpResponse response, HttpFilterCallbacks callbacks) {
        if (policy == null || preflightAnswered) {
            return;
        }
        HttpHeaders h = response.headers();
        h.set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        if (policy.allowCredentials) {
            h.set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
        }
        setIfNotEmpty(h, HttpHeaderNames.ACCESS_CONTROL_EXPOSE_HEADERS, policy.exposeHeaders);
    }

    private static void setIfNotEmpty(HttpHeaders h, CharSequence name, String value) {
        if (!value.isEmpty()) {
            h.set(name, value);
        }
    }
}
