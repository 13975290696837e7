package io.jmesh.proxy.filter.jwt;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import com.nimbusds.jose.jwk.JWKSet;

import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtClaimToHeader;
import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.StreamDecoderFilter;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.QueryStringEncoder;

/**
 * The {@code envoy.filters.http.jwt_authn} filter of one stream. On the request headers it picks the requirement
 * (the route's {@code requirement_name}, else the first matching rule), waits for remote keys it needs (the
 * request is held meanwhile), verifies, and then either denies with Envoy's local reply (401, or 403 for
 * audiences, {@code www-authenticate: Bearer realm="<url>"} plus {@code error="invalid_token"} when a token was
 * there) or lets the request go on with the outputs of every verified token: the token stripped unless
 * {@code forward}, the payload in {@code forward_payload_header}, the payload in dynamic metadata
 * ({@code envoy.filters.http.jwt_authn} / {@code payload_in_metadata}), claims in {@code claim_to_headers}, and
 * the route cache cleared for providers with {@code clear_route_cache}. Runs on the stream's event loop.
 */
final class JwtAuthnFilter implements StreamDecoderFilter {

    private static final Logger logger = LoggerFactory.getLogger(JwtAuthnFilter.class);

    /** The dynamic metadata namespace of verified payloads (Envoy's filter name). */
    static final String METADATA_NAMESPACE = JwtAuthnFilterFactory.NAME;

    private final JwtAuthnConfig config;
    private final Requirement routeRequirement;
    private StreamDecoderFilterCallbacks callbacks;
    private boolean destroyed;

    /** {@code routeRequirement}: the route's named requirement, or null to use the rules. */
    JwtAuthnFilter(JwtAuthnConfig config, Requirement routeRequirement) {
        this.config = config;
        this.routeRequirement = routeRequirement;
    }

    @Override
    public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks callbacks) {
        this.callbacks = callbacks;
    }

    @Override
    public void onDestroy() {
        destroyed = true;
    }

    @Override
    public FilterHeadersStatus decodeHeaders(HttpRequest request, boolean endStream) {
        HttpHeaders h = request.headers();
        if (config.bypassCorsPreflight && HttpMethod.OPTIONS.equals(request.method()) && h.contains(HttpHeaderNames.ORIGIN)
            && h.contains(HttpHeaderNames.ACCESS_CONTROL_REQUEST_METHOD)) {
            config.stats.corsPreflightBypassed.inc();
            return FilterHeadersStatus.CONTINUE;
        }
        Requirement requirement = routeRequirement != null ? routeRequirement : config.match(request);
        if (requirement == null) {
            return FilterHeadersStatus.CONTINUE;
        }
        Set<JwtProviderConfig> providers = new LinkedHashSet<>();
        requirement.providers(providers);
        for (JwtProviderConfig p : providers) { // what only a verified token may set
            if (!p.forwardPayloadHeader.isEmpty()) {
                h.remove(p.forwardPayloadHeader);
            }
            for (JwtClaimToHeader c : p.claimToHeaders) {
                h.remove(c.getHeaderName());
            }
        }
        Verification v = new Verification(request, System.currentTimeMillis() / 1000);
        Map<JwtProviderConfig, CompletableFuture<JWKSet>> fetches = null;
        for (JwtProviderConfig p : providers) {
            JWKSet ready = p.jwks.ready();
            if (ready != null) {
                v.keys.put(p, ready);
            } else if (v.needsKeys(p)) {
                if (fetches == null) {
                    fetches = new HashMap<>(4);
                }
                fetches.put(p, p.jwks.keys(callbacks.eventLoop()));
            }
        }
        if (fetches == null) {
            return decide(request, requirement, v) ? FilterHeadersStatus.CONTINUE : FilterHeadersStatus.STOP_ITERATION;
        }
        Map<JwtProviderConfig, CompletableFuture<JWKSet>> fetched = fetches;
        // The fetches may complete on another thread: their keys are read on the stream's loop, before deciding.
        CompletableFuture.allOf(fetched.values().toArray(new CompletableFuture<?>[0])).whenComplete((ok, err) ->
                callbacks.eventLoop().execute(() -> {
                    fetched.forEach((p, f) -> {
                        JWKSet keys = f.isCompletedExceptionally() ? null : f.getNow(null);
                        if (keys != null) {
                            v.keys.put(p, keys);
                        }
                    });
                    if (!destroyed && decide(request, requirement, v)) {
                        callbacks.continueDecoding();
                    }
                }));
        return FilterHeadersStatus.STOP_ALL_ITERATION_AND_WATERMARK;
    }

    /** Verifies and applies the outcome; returns whether the request goes on. */
    private boolean decide(HttpRequest request, Requirement requirement, Verification v) {
        JwtStatus status = requirement.evaluate(v);
        if (status != JwtStatus.OK) {
            config.stats.denied.inc();
            logger.debug("{} jwt_authn denied: {}", callbacks.connection(), status.message);
            boolean withToken = status != JwtStatus.JWT_MISSED;
            String realm = realm(request);
            if (config.stripFailureResponse) {
                callbacks.sendLocalReply(status.httpStatus, "", status.details(), null, -1);
            } else {
                callbacks.sendLocalReply(status.httpStatus, status.message, status.details(), hs -> hs.set(
                        HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"" + realm + "\""
                                                          + (withToken ? ", error=\"invalid_token\"" : "")), -1);
            }
            return false;
        }
        config.stats.allowed.inc();
        boolean changed = false;
        boolean clearRoute = false;
        for (Verification.Verified ok : v.verified()) {
            changed |= applyOutputs(request, ok);
            clearRoute |= ok.provider().clearRouteCache;
        }
        if (clearRoute && changed) {
            callbacks.clearRouteCache();
        }
        return true;
    }

    private boolean applyOutputs(HttpRequest request, Verification.Verified ok) {
        JwtProviderConfig p = ok.provider();
        HttpHeaders h = request.headers();
        boolean changed = false;
        if (!p.forward) {
            if (ok.token().header() != null) {
                h.remove(ok.token().header());
                changed = true;
            } else if (ok.token().param() != null) {
                request.setUri(withoutParam(request.uri(), ok.token().param()));
                changed = true;
            }
        }
        if (!p.forwardPayloadHeader.isEmpty()) {
            h.set(p.forwardPayloadHeader, p.encodedPayload(ok.jwt()));
            changed = true;
        }
        for (JwtClaimToHeader c : p.claimToHeaders) {
            String value = claimAsHeader(ok.jwt().claims(), c.getClaimName());
            if (value != null) {
                h.set(c.getHeaderName(), value);
                changed = true;
            }
        }
        if (!p.payloadInMetadata.isEmpty() || !p.headerInMetadata.isEmpty()) {
            Struct.Builder ns = Struct.newBuilder();
            if (!p.payloadInMetadata.isEmpty()) {
                ns.putFields(p.payloadInMetadata, Value.newBuilder().setStructValue(ok.jwt().payloadStruct()).build());
            }
            if (!p.headerInMetadata.isEmpty()) {
                ns.putFields(p.headerInMetadata, Value.newBuilder()
                        .setStructValue(ok.jwt().headerStruct()).build());
            }
            callbacks.streamInfo().setDynamicMetadata(METADATA_NAMESPACE, ns.build());
            changed = true;
        }
        return changed;
    }

    static Struct toStruct(String json) {
        Struct.Builder b = Struct.newBuilder();
        try {
            JsonFormat.parser().merge(json, b);
        } catch (InvalidProtocolBufferException e) {
            logger.debug("jwt_authn: payload is not a JSON object: {}", e.getMessage());
        }
        return b.build();
    }

    /**
     * A claim as a header value (Envoy's {@code claim_to_headers}): nested names with dots; strings as they are,
     * numbers and booleans as JSON, arrays of those joined with commas; objects are not copied (null).
     */
    static String claimAsHeader(Map<String, Object> claims, String name) {
        Object v = claims.get(name);
        if (v == null && name.indexOf('.') > 0) {
            Object cur = claims;
            for (String part : name.split("\\.")) {
                cur = cur instanceof Map<?, ?> m ? m.get(part) : null;
            }
            v = cur;
        }
        if (v instanceof List<?> l) {
            List<String> parts = new ArrayList<>();
            for (Object o : l) {
                String s = scalar(o);
                if (s == null) {
                    return null;
                }
                parts.add(s);
            }
            return String.join(",", parts);
        }
        return scalar(v);
    }

    private static String scalar(Object o) {
        if (o instanceof String s) {
            return s;
        }
        if (o instanceof Double d && d == Math.rint(d) && !d.isInfinite()) {
            return Long.toString(d.longValue());
        }
        if (o instanceof Number || o instanceof Boolean) {
            return o.toString();
        }
        return null;
    }

    private static String withoutParam(String uri, String param) {
        QueryStringDecoder d = new QueryStringDecoder(uri);
        QueryStringEncoder e = new QueryStringEncoder(d.rawPath());
        for (Map.Entry<String, List<String>> p : d.parameters().entrySet()) {
            if (!p.getKey().equals(param)) {
                for (String v : p.getValue()) {
                    e.addParam(p.getKey(), v);
                }
            }
        }
        return e.toString();
    }

    /** Envoy's realm: the original URL without its query. */
    private static String realm(HttpRequest request) {
        String scheme = request.headers().get("x-forwarded-proto", "http");
        String host = request.headers().get(HttpHeaderNames.HOST, "");
        String uri = request.uri();
        int q = uri.indexOf('?');
        return scheme + "://" + host + (q < 0 ? uri : uri.substring(0, q));
    }
}
