package io.jmesh.proxy.filter.extauthz;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;

import io.envoyproxy.envoy.config.core.v3.ApiVersion;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthz;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute;
import io.envoyproxy.envoy.extensions.filters.http.ext_authz.v3.HttpService;
import io.envoyproxy.envoy.type.matcher.v3.ListStringMatcher;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.FilterDataStatus;
import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.FilterTrailersStatus;
import io.jmesh.proxy.filter.HttpFilter;
import io.jmesh.proxy.filter.HttpFilterFactory;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.jmesh.proxy.filter.StreamEncoderFilterCallbacks;
import io.jmesh.proxy.filter.rbac.RbacEngine;
import io.jmesh.proxy.router.StringMatch;
import io.jmesh.proxy.stream.ResponseFlag;
import io.jmesh.proxy.stream.StreamInfo;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.upstream.ClusterManager;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;

/**
 * {@code envoy.filters.http.ext_authz} ({@code extensions.filters.http.ext_authz.v3.ExtAuthz}): each request waits
 * for an authorization service, a gRPC {@code envoy.service.auth.v3.Authorization/Check} ({@code grpc_service.
 * envoy_grpc}) or a plain HTTP service ({@code http_service}), reached through a cluster of the cluster manager.
 * Allowed: the service's headers go upstream (and to the client with {@code response_headers_to_add}), its dynamic
 * metadata goes under {@code envoy.filters.http.ext_authz}. Denied: its status (403 by default), headers and body go
 * to the client, response flag {@code UAEX}, details {@code ext_authz_denied}. The service failing (unreachable,
 * {@code timeout}, default 200 ms for gRPC): {@code status_on_error} (403) with details {@code ext_authz_error}, or
 * with {@code failure_mode_allow} the request goes on. {@code with_request_body} buffers up to
 * {@code max_request_bytes} first (413 past it unless {@code allow_partial_message}). {@code filter_enabled_metadata}
 * (which Istio sets for CUSTOM policies) turns the check on only for requests whose dynamic metadata matches.
 * Per route: {@code ExtAuthzPerRoute} {@code disabled} or {@code check_settings.context_extensions}. Stats
 * {@code http.<stat_prefix>.ext_authz.[<filter stat_prefix>.]ok}, {@code denied}, {@code error},
 * {@code failure_mode_allowed}, {@code disabled}.
 */
public final class ExtAuthzFilterFactory implements HttpFilterFactory {

    private static final Logger logger = LoggerFactory.getLogger(ExtAuthzFilterFactory.class);

    /** Envoy's canonical name: the per-route config key and the dynamic metadata namespace. */
    public static final String NAME = "envoy.filters.http.ext_authz";

    /** Envoy's default gRPC timeout of this filter. */
    static final long DEFAULT_TIMEOUT_MILLIS = 200;

    /** The header {@code failure_mode_allow_header_add} sets on a request let through on an error. */
    static final String FAILURE_MODE_ALLOWED_HEADER = "x-envoy-auth-failure-mode-allowed";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Descriptor configType() {
        return ExtAuthz.getDescriptor();
    }

    @Override
    public PerStream create(Any typedConfig, Context context) throws ConfigException {
        ExtAuthz config = HttpFilterFactory.unpack(typedConfig, ExtAuthz.class, ExtAuthz.getDescriptor());
        Settings s = Settings.from(config, context.clusterManager(), context.stats(), "http." + context.statPrefix()
                + ".ext_authz.");
        return route -> {
            Object perRoute = route == null ? null : route.perFilterConfig(NAME);
            if (perRoute instanceof RouteSettings rs) {
                if (rs.disabled) {
                    return null;
                }
                return new Filter(s, rs.contextExtensions);
            }
            return new Filter(s, Map.of());
        };
    }

    @Override
    public Object createRouteConfig(Any typedConfig) throws ConfigException {
        ExtAuthzPerRoute pr = HttpFilterFactory.unpack(typedConfig, ExtAuthzPerRoute.class,
                ExtAuthzPerRoute.getDescriptor());
        if (pr.hasCheckSettings()) {
            var cs = pr.getCheckSettings();
            if (cs.hasWithRequestBody() || cs.getDisableRequestBodyBuffering()) {
                throw new ConfigException("check_settings." + (cs.hasWithRequestBody() ? "with_request_body"
                        : "disable_request_body_buffering") + ": (expected: unset; per-route body settings are not"
                        + " supported)");
            }
            return new RouteSettings(false, Map.copyOf(cs.getContextExtensionsMap()));
        }
        return new RouteSettings(pr.getDisabled(), Map.of());
    }

    /** A route's {@code ExtAuthzPerRoute}. */
    record RouteSettings(boolean disabled, Map<String, String> contextExtensions) {}

    static List<StringMatch> matchers(ListStringMatcher list, String path) throws ConfigException {
        List<StringMatch> out = new ArrayList<>();
        for (int i = 0; i < list.getPatternsCount(); i++) {
            out.add(StringMatch.from(list.getPatterns(i), path + ".patterns[" + i + "]"));
        }
        return List.copyOf(out);
    }

    static long millis(com.google.protobuf.Duration d) {
        return d.getSeconds() * 1000 + d.getNanos() / 1_000_000;
    }

    /** The gRPC client of an {@code envoy_grpc} service; errors are relative to the {@code grpc_service}. */
    static AuthzClient grpcClient(GrpcService g, Supplier<ClusterManager> clusters, String at) throws ConfigException {
        if (g.hasGoogleGrpc()) {
            throw new ConfigException(at + ".google_grpc: (expected: envoy_grpc; google_grpc is not supported)");
        }
        if (!g.hasEnvoyGrpc() || g.getEnvoyGrpc().getClusterName().isEmpty()) {
            throw new ConfigException(at + ".envoy_grpc.cluster_name: \"\" (expected: a cluster name)");
        }
        return new GrpcAuthzClient(clusters, g.getEnvoyGrpc().getClusterName(), g.getEnvoyGrpc().getAuthority());
    }

    /** The validated filter config, shared by every stream of a filter chain. */
    static final class Settings {
        AuthzClient client;
        long timeoutMillis;
        boolean grpc;
        boolean failureModeAllow;
        boolean failureModeAllowHeaderAdd;
        boolean clearRouteCache;
        int statusOnError = 403;
        boolean withBody;
        int maxRequestBytes;
        boolean allowPartial;
        boolean packAsBytes;
        boolean includePeerCertificate;
        boolean includeTlsSession;
        List<StringMatch> allowedHeaders = List.of();
        Predicate<StreamInfo> enabledMetadata;
        Counter ok;
        Counter denied;
        Counter error;
        Counter failureModeAllowed;
        Counter disabled;

        @SuppressWarnings("deprecation") // authorization_request.allowed_headers: deprecated, still written by istiod
        static Settings from(ExtAuthz c, Supplier<ClusterManager> clusters, io.jmesh.proxy.telemetry.Stats stats,
                             String statBase) throws ConfigException {
            Settings s = new Settings();
            if (c.getTransportApiVersion() != ApiVersion.AUTO && c.getTransportApiVersion() != ApiVersion.V3) {
                throw new ConfigException("transport_api_version: " + c.getTransportApiVersion()
                                          + " (expected: V3)");
            }
            refuse(c.hasFilterEnabled(), "filter_enabled", "runtime fractions are not supported");
            refuse(c.hasDenyAtDisable(), "deny_at_disable", "runtime flags are not supported");
            refuse(c.hasDecoderHeaderMutationRules(), "decoder_header_mutation_rules", "not supported");
            refuse(c.hasDisallowedHeaders(), "disallowed_headers", "use allowed_headers");
            refuse(c.getEncodeRawHeaders(), "encode_raw_headers", "headers are sent as strings");
            if (c.hasAllowedHeaders()) {
                s.allowedHeaders = matchers(c.getAllowedHeaders(), "allowed_headers");
            }
            switch (c.getServicesCase()) {
                case GRPC_SERVICE: {
                    GrpcService g = c.getGrpcService();
                    s.client = grpcClient(g, clusters, "grpc_service");
                    s.grpc = true;
                    s.timeoutMillis = g.hasTimeout() ? millis(g.getTimeout()) : DEFAULT_TIMEOUT_MILLIS;
                    break;
                }
                case HTTP_SERVICE: {
                    HttpService h = c.getHttpService();
                    if (!h.hasServerUri() || h.getServerUri().getCluster().isEmpty()) {
                        throw new ConfigException("http_service.server_uri.cluster: \"\" (expected: a cluster name)");
                    }
                    if (!h.getServerUri().hasTimeout()) {
                        throw new ConfigException("http_service.server_uri.timeout: null (expected: a duration)");
                    }
                    s.timeoutMillis = millis(h.getServerUri().getTimeout());
                    var req = h.getAuthorizationRequest();
                    List<StringMatch> allowed = new ArrayList<>(s.allowedHeaders);
                    if (req.hasAllowedHeaders()) {
                        allowed.addAll(matchers(req.getAllowedHeaders(), "http_service.authorization_request"
                                + ".allowed_headers"));
                    }
                    Map<String, String> add = new LinkedHashMap<>();
                    for (HeaderValue hv : req.getHeadersToAddList()) {
                        add.put(hv.getKey().toLowerCase(java.util.Locale.ROOT), hv.getValue());
                    }
                    var resp = h.getAuthorizationResponse();
                    refuse(resp.hasDynamicMetadataFromHeaders(), "http_service.authorization_response"
                            + ".dynamic_metadata_from_headers", "not supported");
                    String r = "http_service.authorization_response.";
                    s.client = new HttpAuthzClient(clusters, h.getServerUri().getCluster(), h.getPathPrefix(),
                            List.copyOf(allowed), Map.copyOf(add),
                            matchers(resp.getAllowedUpstreamHeaders(), r + "allowed_upstream_headers"),
                            matchers(resp.getAllowedUpstreamHeadersToAppend(), r + "allowed_upstream_headers_to_append"),
                            matchers(resp.getAllowedClientHeaders(), r + "allowed_client_headers"),
                            matchers(resp.getAllowedClientHeadersOnSuccess(), r + "allowed_client_headers_on_success"));
                    // The HTTP service picks its own headers: the CheckRequest carries them all.
                    s.allowedHeaders = List.of();
                    break;
                }
                default:
                    throw new ConfigException("services: null (expected: grpc_service or http_service)");
            }
            s.failureModeAllow = c.getFailureModeAllow();
            s.failureModeAllowHeaderAdd = c.getFailureModeAllowHeaderAdd();
            s.clearRouteCache = c.getClearRouteCache();
            if (c.hasStatusOnError()) {
                int code = c.getStatusOnError().getCodeValue();
                if (code < 200 || code > 599) {
                    throw new ConfigException("status_on_error.code: " + code + " (expected: an HTTP status)");
                }
                s.statusOnError = code;
            }
            if (c.hasWithRequestBody()) {
                s.withBody = true;
                s.maxRequestBytes = c.getWithRequestBody().getMaxRequestBytes();
                if (s.maxRequestBytes <= 0) {
                    throw new ConfigException("with_request_body.max_request_bytes: " + s.maxRequestBytes
                                              + " (expected: > 0)");
                }
                s.allowPartial = c.getWithRequestBody().getAllowPartialMessage();
                s.packAsBytes = c.getWithRequestBody().getPackAsBytes();
            }
            s.includePeerCertificate = c.getIncludePeerCertificate();
            s.includeTlsSession = c.getIncludeTlsSession();
            if (c.hasFilterEnabledMetadata()) {
                s.enabledMetadata = RbacEngine.metadataMatcher(c.getFilterEnabledMetadata(), "filter_enabled_metadata");
            }
            String p = statBase + (c.getStatPrefix().isEmpty() ? "" : c.getStatPrefix() + ".");
            s.ok = stats.counter(p + "ok");
            s.denied = stats.counter(p + "denied");
            s.error = stats.counter(p + "error");
            s.failureModeAllowed = stats.counter(p + "failure_mode_allowed");
            s.disabled = stats.counter(p + "disabled");
            return s;
        }

        private static void refuse(boolean set, String field, String why) throws ConfigException {
            if (set) {
                throw new ConfigException(field + ": (expected: unset; " + why + ")");
            }
        }
    }

    /** The ext_authz filter of one stream. */
    static final class Filter implements HttpFilter {
        private enum State { IDLE, BUFFERING, CHECKING, ALLOWED, DONE }

        private final Settings s;
        private final Map<String, String> contextExtensions;
        private StreamDecoderFilterCallbacks callbacks;
        private State state = State.IDLE;
        private boolean destroyed;
        private List<AuthzResult.HeaderAction> responseHeaders = List.of();

        Filter(Settings s, Map<String, String> contextExtensions) {
            this.s = s;
            this.contextExtensions = contextExtensions;
        }

        @Override
        public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks callbacks) {
            this.callbacks = callbacks;
        }

        @Override
        public void setEncoderFilterCallbacks(StreamEncoderFilterCallbacks callbacks) {}

        @Override
        public FilterHeadersStatus decodeHeaders(HttpRequest headers, boolean endStream) {
            if (s.enabledMetadata != null && !s.enabledMetadata.test(callbacks.streamInfo())) {
                s.disabled.inc();
                state = State.DONE;
                return FilterHeadersStatus.CONTINUE;
            }
            if (s.withBody && !endStream) {
                state = State.BUFFERING;
                return FilterHeadersStatus.STOP_ITERATION;
            }
            check(null, 0);
            return FilterHeadersStatus.STOP_ALL_ITERATION_AND_WATERMARK;
        }

        @Override
        public FilterDataStatus decodeData(ByteBuf data, boolean endStream) {
            if (state == State.BUFFERING) {
                ByteBuf held = callbacks.decodingBuffer();
                int total = (held == null ? 0 : held.readableBytes()) + data.readableBytes();
                if (endStream || total >= s.maxRequestBytes) {
                    if (total > s.maxRequestBytes && !s.allowPartial) {
                        state = State.DONE;
                        callbacks.sendLocalReply(413, "Payload Too Large", "request_payload_too_large");
                        return FilterDataStatus.STOP_ITERATION_AND_BUFFER;
                    }
                    byte[] body = new byte[Math.min(total, s.maxRequestBytes)];
                    int n = 0;
                    if (held != null) {
                        n = Math.min(held.readableBytes(), body.length);
                        held.getBytes(held.readerIndex(), body, 0, n);
                    }
                    data.getBytes(data.readerIndex(), body, n, body.length - n);
                    check(body, total);
                }
                return FilterDataStatus.STOP_ITERATION_AND_BUFFER;
            }
            return state == State.CHECKING ? FilterDataStatus.STOP_ITERATION_AND_BUFFER : FilterDataStatus.CONTINUE;
        }

        @Override
        public FilterTrailersStatus decodeTrailers(HttpHeaders trailers) {
            if (state == State.BUFFERING) {
                ByteBuf held = callbacks.decodingBuffer();
                byte[] body = new byte[held == null ? 0 : Math.min(held.readableBytes(), s.maxRequestBytes)];
                if (held != null) {
                    held.getBytes(held.readerIndex(), body);
                }
                check(body, held == null ? 0 : held.readableBytes());
            }
            return state == State.CHECKING ? FilterTrailersStatus.STOP_ITERATION : FilterTrailersStatus.CONTINUE;
        }

        private void check(byte[] body, long size) {
            state = State.CHECKING;
            var info = callbacks.streamInfo();
            var request = CheckRequests.http(info.requestAttributes(), info.protocol() == null ? "" : info.protocol(),
                    callbacks.connection(), s.allowedHeaders, body, size, s.packAsBytes, s.includePeerCertificate,
                    s.includeTlsSession, contextExtensions);
            var loop = callbacks.eventLoop();
            s.client.check(request, s.timeoutMillis, loop, result -> loop.execute(() -> onResult(result)));
        }

        private void onResult(AuthzResult r) {
            if (destroyed || state != State.CHECKING) {
                return;
            }
            switch (r.status()) {
                case OK: {
                    s.ok.inc();
                    state = State.ALLOWED;
                    HttpHeaders h = callbacks.requestHeaders().headers();
                    for (AuthzResult.HeaderAction a : r.upstreamHeaders()) {
                        if (a.append()) {
                            h.add(a.name(), a.value());
                        } else {
                            h.set(a.name(), a.value());
                        }
                    }
                    for (String name : r.upstreamHeadersToRemove()) {
                        if (!name.startsWith(":") && !name.equalsIgnoreCase("host")) {
                            h.remove(name);
                        }
                    }
                    responseHeaders = r.clientHeaders();
                    if (r.dynamicMetadata() != null) {
                        callbacks.streamInfo().setDynamicMetadata(NAME, r.dynamicMetadata());
                    }
                    if (s.clearRouteCache && (!r.upstreamHeaders().isEmpty() || !r.upstreamHeadersToRemove().isEmpty())) {
                        callbacks.clearRouteCache();
                    }
                    callbacks.continueDecoding();
                    return;
                }
                case DENIED: {
                    s.denied.inc();
                    state = State.DONE;
                    callbacks.addResponseFlag(ResponseFlag.UNAUTHORIZED_EXTERNAL_SERVICE);
                    if (r.dynamicMetadata() != null) {
                        callbacks.streamInfo().setDynamicMetadata(NAME, r.dynamicMetadata());
                    }
                    List<AuthzResult.HeaderAction> headers = r.clientHeaders();
                    callbacks.sendLocalReply(r.httpStatus(), r.body(), "ext_authz_denied", h -> {
                        for (AuthzResult.HeaderAction a : headers) {
                            if (a.append()) {
                                h.add(a.name(), a.value());
                            } else {
                                h.set(a.name(), a.value());
                            }
                        }
                    }, -1);
                    return;
                }
                default: {
                    s.error.inc();
                    logger.debug("{} ext_authz error: {}", callbacks.connection(), r.reason());
                    if (s.failureModeAllow) {
                        s.failureModeAllowed.inc();
                        state = State.ALLOWED;
                        if (s.failureModeAllowHeaderAdd) {
                            callbacks.requestHeaders().headers().set(FAILURE_MODE_ALLOWED_HEADER, "true");
                        }
                        callbacks.continueDecoding();
                        return;
                    }
                    state = State.DONE;
                    callbacks.addResponseFlag(ResponseFlag.UNAUTHORIZED_EXTERNAL_SERVICE);
                    callbacks.sendLocalReply(s.statusOnError, "", "ext_authz_error");
                }
            }
        }

        @Override
        public FilterHeadersStatus encodeHeaders(HttpResponse headers, boolean endStream) {
            for (AuthzResult.HeaderAction a : responseHeaders) {
                if (a.append()) {
                    headers.headers().add(a.name(), a.value());
                } else {
                    headers.headers().set(a.name(), a.value());
                }
            }
            return FilterHeadersStatus.CONTINUE;
        }

        @Override
        public void onDestroy() {
            destroyed = true;
        }
    }
}
