package io.jmesh.proxy.filter.csrf;

import java.net.URI;
import java.util.Locale;

import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.StreamDecoderFilter;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.jmesh.proxy.telemetry.Counter;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;

/**
 * The CSRF check of one stream, as Envoy's {@code CsrfFilter}: only POST, PUT, DELETE and PATCH are checked. The
 * source origin is the host[:port] of {@code Origin}, else of {@code Referer}; the request is valid when it equals
 * the destination ({@code :authority} / {@code Host}) or matches an {@code additional_origins} entry. A missing
 * source counts {@code missing_source_origin} and {@code request_invalid}. An invalid request is answered
 * {@code 403 Invalid origin} (details {@code csrf_origin_mismatch}) when the policy is enabled for it; in shadow
 * mode only counted.
 */
final class CsrfFilter implements StreamDecoderFilter {

    /** The filter's counters. */
    record Stats(Counter missingSourceOrigin, Counter requestInvalid, Counter requestValid) {}

    private final CsrfPolicyConfig policy;
    private final Stats stats;
    private StreamDecoderFilterCallbacks callbacks;

    CsrfFilter(CsrfPolicyConfig policy, Stats stats) {
        this.policy = policy;
        this.stats = stats;
    }

    @Override
    public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks callbacks) {
        this.callbacks = callbacks;
    }

    @Override
    public FilterHeadersStatus decodeHeaders(HttpRequest request, boolean endStream) {
        boolean enabled = policy.enabled();
        boolean shadow = !enabled && policy.shadowEnabled();
        if (!enabled && !shadow) {
            return FilterHeadersStatus.CONTINUE;
        }
        HttpMethod m = request.method();
        if (!(m.equals(HttpMethod.POST) || m.equals(HttpMethod.PUT) || m.equals(HttpMethod.DELETE)
                || m.equals(HttpMethod.PATCH))) {
            return FilterHeadersStatus.CONTINUE;
        }
        HttpHeaders h = request.headers();
        boolean valid = true;
        String source = hostAndPort(h.get(HttpHeaderNames.ORIGIN));
        if (source.isEmpty()) {
            source = hostAndPort(h.get(HttpHeaderNames.REFERER));
        }
        if (source.isEmpty()) {
            valid = false;
            stats.missingSourceOrigin().inc();
        }
        if (!originValid(source, request)) {
            valid = false;
            stats.requestInvalid().inc();
        }
        if (valid) {
            stats.requestValid().inc();
            return FilterHeadersStatus.CONTINUE;
        }
        if (!enabled) {
            return FilterHeadersStatus.CONTINUE; // shadow mode: counted only
        }
        callbacks.sendLocalReply(403, "Invalid origin", "csrf_origin_mismatch");
        return FilterHeadersStatus.STOP_ITERATION;
    }

    private boolean originValid(String source, HttpRequest request) {
        String target = hostAndPort(authority(request));
        if (!source.isEmpty() && source.equalsIgnoreCase(target)) {
            return true;
        }
        return policy.additionalOrigin(source);
    }

    private static String authority(HttpRequest request) {
        String host = request.headers().get(HttpHeaderNames.HOST);
        if (host == null) {
            host = request.headers().get(":authority");
        }
        return host;
    }

    /** The host[:port] of an absolute URL, else the value itself (a bare host[:port]); "" for none. */
    static String hostAndPort(String value) {
        if (value == null) {
            return "";
        }
        String v = value.trim();
        int scheme = v.indexOf("://");
        if (scheme > 0) {
            try {
                URI u = URI.create(v);
                if (u.getRawAuthority() != null) {
                    String a = u.getRawAuthority();
                    int at = a.lastIndexOf('@');
                    return (at >= 0 ? a.substring(at + 1) : a).toLowerCase(Locale.ROOT);
                }
            } catch (IllegalArgumentException e) {
                // not a URL: compared as it is, as Envoy does
            }
        }
        return v.toLowerCase(Locale.ROOT);
    }
}
