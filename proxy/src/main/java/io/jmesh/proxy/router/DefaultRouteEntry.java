package io.jmesh.proxy.router;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ThreadLocalRandom;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.jmesh.proxy.config.ConfigException;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;

/** The {@link RouteEntry} compiled from one {@code Route}, with its match. Immutable. */
final class DefaultRouteEntry implements RouteEntry {

    static final long DEFAULT_TIMEOUT_MILLIS = 15_000;
    /** Envoy's default {@code max_direct_response_body_size_bytes}. */
    static final int MAX_DIRECT_BODY_BYTES = 4096;
    static final AsciiString X_ENVOY_ORIGINAL_PATH = AsciiString.cached("x-envoy-original-path");

    private final Kind kind;
    private final Map<String, Object> filterConfigs;
    private final String name;
    /** {@code Route.decorator.operation}, or null. */
    private final String decoratorOperation;
    /** {@code Route.tracing}, or null. */
    private final io.jmesh.proxy.telemetry.tracing.RouteTracing tracing;
    private final String virtualHostName;

    // match
    private final PathMatch pathMatch;
    private final HeaderMatch[] headerMatches;
    /** {@code match.dynamic_metadata}: matched against the stream's dynamic metadata (routing on JWT claims). */
    private final MetadataMatch[] metadataMatches;
    private final QueryParameterMatch[] queryMatches;

    // header mutations, in evaluation order
    private final HeaderMutations[] requestMutations;
    private final HeaderMutations[] responseMutations;

    // ROUTE
    private final String cluster;
    private final String clusterHeader;
    private final String[] weightedNames;
    private final long[] weightedCumulative;
    private final long weightedTotal;
    private final String weightedRandomHeader;
    private final Map<String, WeightedClusterExtras> weightedExtras;
    private final long timeoutMillis;
    private final long idleTimeoutMillis;
    private final boolean hasIdleTimeout;
    private final RetryPolicy retryPolicy;
    private final String prefixRewrite;
    private final Regexes.Substitution regexRewrite;
    private final String hostRewriteLiteral;
    private final String hostRewriteHeader;
    private final boolean autoHostRewrite;
    private final HashPolicy hashPolicy;
    private final List<RequestMirrorPolicy> mirrorPolicies;
    private final List<RateLimitPolicy> rateLimits;
    private final boolean includeVhRateLimits;
    /** Set once by {@link VirtualHostEntry} right after construction, before the table is published. */
    List<RateLimitPolicy> virtualHostRateLimits = List.of();

    // REDIRECT
    private final String redirectScheme;
    private final String redirectHost;
    private final int redirectPort;
    private final String redirectPath;
    private final boolean stripQuery;
    private final HttpResponseStatus redirectStatus;

    // DIRECT_RESPONSE
    private final int directStatus;
    private final String directBody;

    private static final class WeightedClusterExtras {
        final HeaderMutations request;
        final HeaderMutations response;
        final String hostRewriteLiteral;

        WeightedClusterExtras(HeaderMutations request, HeaderMutations response, String hostRewriteLiteral) {
            this.request = request;
            this.response = response;
            this.hostRewriteLiteral = hostRewriteLiteral;
        }
    }

    /**
     * Compiles {@code route}.
     *
     * @param vhRetry the virtual host's retry policy, or null
     * @param levels request and response mutations of the virtual host and the configuration
     */
    @SuppressWarnings("deprecation") // legacy fields Envoy still honours
    DefaultRouteEntry(Route route, String path, String virtualHostName, RetryPolicy vhRetry,
                      HeaderMutations vhRequest, HeaderMutations vhResponse, HeaderMutations cfgRequest,
                      HeaderMutations cfgResponse, boolean mostSpecificWins, Map<String, Object> filterConfigs)
            throws ConfigException {
        this.name = route.getName();
        this.decoratorOperation = route.hasDecorator() && !route.getDecorator().getOperation().isEmpty()
                ? route.getDecorator().getOperation() : null;
        this.tracing = route.hasTracing()
                ? io.jmesh.proxy.telemetry.tracing.RouteTracing.create(route.getTracing(), path + ".tracing") : null;
        this.filterConfigs = filterConfigs;
        this.virtualHostName = virtualHostName;

        // ---- match
        if (!route.hasMatch()) {
            throw new ConfigException(path + ".match: null (expected: a RouteMatch)");
        }
        final RouteMatch m = route.getMatch();
        final String mp = path + ".match";
        rejectUnsupportedMatch(m, mp);
        pathMatch = PathMatch.from(m, mp);
        metadataMatches = new MetadataMatch[m.getDynamicMetadataCount()];
        for (int i = 0; i < metadataMatches.length; i++) {
            metadataMatches[i] = MetadataMatch.from(m.getDynamicMetadata(i), mp + ".dynamic_metadata[" + i + ']');
        }
        headerMatches = new HeaderMatch[m.getHeadersCount()];
        for (int i = 0; i < headerMatches.length; i++) {
            headerMatches[i] = HeaderMatch.from(m.getHeaders(i), mp + ".headers[" + i + ']');
        }
        queryMatches = new QueryParameterMatch[m.getQueryParametersCount()];
        for (int i = 0; i < queryMatches.length; i++) {
            queryMatches[i] = QueryParameterMatch.from(m.getQueryParameters(i), mp + ".query_parameters[" + i + ']');
        }

        // ---- header mutations
        final HeaderMutations routeRequest = HeaderMutations.from(
                route.getRequestHeadersToAddList(), route.getRequestHeadersToRemoveList(),
                path + ".request_headers_to_add", path + ".request_headers_to_remove");
        final HeaderMutations routeResponse = HeaderMutations.from(
                route.getResponseHeadersToAddList(), route.getResponseHeadersToRemoveList(),
                path + ".response_headers_to_add", path + ".response_headers_to_remove");
        requestMutations = chain(mostSpecificWins, routeRequest, vhRequest, cfgRequest);
        responseMutations = chain(mostSpecificWins, routeResponse, vhResponse, cfgResponse);

        String cluster = null;
        String clusterHeader = null;
        String[] weightedNames = null;
        long[] weightedCumulative = null;
        long weightedTotal = 0;
        String weightedRandomHeader = null;
        Map<String, WeightedClusterExtras> weightedExtras = Map.of();
        long timeout = DEFAULT_TIMEOUT_MILLIS;
        long idle = 0;
        boolean hasIdle = false;
        RetryPolicy retry = RetryPolicy.NONE;
        String prefixRewrite = null;
        Regexes.Substitution regexRewrite = null;
        String hostRewriteLiteral = null;
        String hostRewriteHeader = null;
        boolean autoHost = false;
        HashPolicy hash = HashPolicy.NONE;
        List<RequestMirrorPolicy> mirrors = List.of();
        List<RateLimitPolicy> rateLimits = List.of();
        boolean includeVh = false;
        String rScheme = null;
        String rHost = null;
        int rPort = 0;
        String rPath = null;
        boolean rStrip = false;
        HttpResponseStatus rStatus = HttpResponseStatus.MOVED_PERMANENTLY;
        int dStatus = 0;
        String dBody = "";

        switch (route.getActionCase()) {
            case ROUTE: {
                kind = Kind.ROUTE;
                final RouteAction a = route.getRoute();
                final String ap = path + ".route";
                switch (a.getClusterSpecifierCase()) {
                    case CLUSTER:
                        cluster = StringMatch.nonEmpty(a.getCluster(), ap + ".cluster");
                        break;
                    case CLUSTER_HEADER:
                        clusterHeader = StringMatch.nonEmpty(a.getClusterHeader(), ap + ".cluster_header")
                                                   .toLowerCase(Locale.ROOT);
                        if ("host".equals(clusterHeader)) {
                            clusterHeader = ":authority";
                        }
                        break;
                    case WEIGHTED_CLUSTERS: {
                        final WeightedCluster w = a.getWeightedClusters();
                        final String wp = ap + ".weighted_clusters";
                        if (w.getClustersCount() == 0) {
                            throw new ConfigException(wp + ".clusters: [] (expected: at least one cluster)");
                        }
                        weightedNames = new String[w.getClustersCount()];
                        weightedCumulative = new long[w.getClustersCount()];
                        final Map<String, WeightedClusterExtras> extras = new HashMap<>();
                        for (int i = 0; i < weightedNames.length; i++) {
                            final WeightedCluster.ClusterWeight cw = w.getClusters(i);
                            final String cp = wp + ".clusters[" + i + ']';
                            weightedNames[i] = StringMatch.nonEmpty(cw.getName(), cp + ".name");
                            weightedTotal += Integer.toUnsignedLong(cw.getWeight().getValue());
                            weightedCumulative[i] = weightedTotal;
                            final HeaderMutations req = HeaderMutations.from(
                                    cw.getRequestHeadersToAddList(), cw.getRequestHeadersToRemoveList(),
                                    cp + ".request_headers_to_add", cp + ".request_headers_to_remove");
                            final HeaderMutations resp = HeaderMutations.from(
                                    cw.getResponseHeadersToAddList(), cw.getResponseHeadersToRemoveList(),
                                    cp + ".response_headers_to_add", cp + ".response_headers_to_remove");
                            final String hostRw = cw.getHostRewriteLiteral().isEmpty() ? null
                                    : lineSafe(cw.getHostRewriteLiteral(), cp + ".host_rewrite_literal");
                            if (!req.isEmpty() || !resp.isEmpty() || hostRw != null) {
                                extras.putIfAbsent(weightedNames[i], new WeightedClusterExtras(req, resp, hostRw));
                            }
                        }
                        if (weightedTotal <= 0) {
                            throw new ConfigException(wp + ".clusters: total weight 0 (expected: > 0)");
                        }
                        if (w.hasTotalWeight() && w.getTotalWeight().getValue() > 0
                            && Integer.toUnsignedLong(w.getTotalWeight().getValue()) != weightedTotal) {
                            throw new ConfigException(wp + ".total_weight: "
                                                      + Integer.toUnsignedString(w.getTotalWeight().getValue())
                                                      + " (expected: the sum of the weights, " + weightedTotal + ')');
                        }
                        if (!w.getHeaderName().isEmpty()) {
                            weightedRandomHeader = w.getHeaderName().toLowerCase(Locale.ROOT);
                        }
                        weightedExtras = Map.copyOf(extras);
                        break;
                    }
                    default:
                        throw new ConfigException(ap + ".cluster_specifier: " + a.getClusterSpecifierCase()
                                                  + " (expected: cluster, cluster_header or weighted_clusters)");
                }
                if (a.hasTimeout()) {
                    timeout = RetryPolicy.millis(a.getTimeout(), ap + ".timeout");
                }
                if (a.hasIdleTimeout()) {
                    idle = RetryPolicy.millis(a.getIdleTimeout(), ap + ".idle_timeout");
                    hasIdle = true;
                }
                if (a.hasRetryPolicy()) {
                    try {
                        retry = RetryPolicy.from(a.getRetryPolicy());
                    } catch (ConfigException e) {
                        throw e.under(ap + ".retry_policy");
                    }
                } else if (vhRetry != null) {
                    retry = vhRetry;
                }
                if (!a.getPrefixRewrite().isEmpty()) {
                    prefixRewrite = lineSafe(a.getPrefixRewrite(), ap + ".prefix_rewrite");
                }
                if (a.hasRegexRewrite()) {
                    if (prefixRewrite != null) {
                        throw new ConfigException(ap + ".regex_rewrite: " + a.getRegexRewrite().getPattern().getRegex()
                                                  + " (expected: not set together with prefix_rewrite)");
                    }
                    lineSafe(a.getRegexRewrite().getSubstitution(), ap + ".regex_rewrite.substitution");
                    regexRewrite = Regexes.Substitution.from(a.getRegexRewrite(), ap + ".regex_rewrite");
                }
                if (a.hasPathRewritePolicy()) {
                    throw new ConfigException(ap + ".path_rewrite_policy: " + a.getPathRewritePolicy().getName()
                                              + " (expected: prefix_rewrite or regex_rewrite)");
                }
                switch (a.getHostRewriteSpecifierCase()) {
                    case HOST_REWRITE_LITERAL:
                        hostRewriteLiteral = lineSafe(a.getHostRewriteLiteral(), ap + ".host_rewrite_literal");
                        break;
                    case AUTO_HOST_REWRITE:
                        autoHost = a.getAutoHostRewrite().getValue();
                        break;
                    case HOST_REWRITE_HEADER:
                        hostRewriteHeader = StringMatch.nonEmpty(a.getHostRewriteHeader(), ap + ".host_rewrite_header")
                                                       .toLowerCase(Locale.ROOT);
                        break;
                    case HOSTREWRITESPECIFIER_NOT_SET:
                        break;
                    default:
                        throw new ConfigException(ap + ".host_rewrite_specifier: " + a.getHostRewriteSpecifierCase()
                                                  + " (expected: host_rewrite_literal, auto_host_rewrite or"
                                                  + " host_rewrite_header)");
                }
                hash = HashPolicy.from(a.getHashPolicyList(), ap + ".hash_policy");
                mirrors = RequestMirrorPolicy.from(a.getRequestMirrorPoliciesList(), ap + ".request_mirror_policies");
                rateLimits = RateLimitPolicy.fromList(a.getRateLimitsList(), ap + ".rate_limits");
                includeVh = a.hasIncludeVhRateLimits() && a.getIncludeVhRateLimits().getValue();
                break;
            }
            case REDIRECT: {
                kind = Kind.REDIRECT;
                final RedirectAction r = route.getRedirect();
                final String rp = path + ".redirect";
                switch (r.getSchemeRewriteSpecifierCase()) {
                    case HTTPS_REDIRECT:
                        if (r.getHttpsRedirect()) {
                            rScheme = "https";
                        }
                        break;
                    case SCHEME_REDIRECT:
                        rScheme = r.getSchemeRedirect().isEmpty() ? null
                                : lineSafe(r.getSchemeRedirect(), rp + ".scheme_redirect").toLowerCase(Locale.ROOT);
                        break;
                    default:
                        break;
                }
                rHost = r.getHostRedirect().isEmpty() ? null : lineSafe(r.getHostRedirect(), rp + ".host_redirect");
                if (r.getPortRedirect() > 65535) {
                    throw new ConfigException(rp + ".port_redirect: " + Integer.toUnsignedString(r.getPortRedirect())
                                              + " (expected: <= 65535)");
                }
                rPort = r.getPortRedirect();
                switch (r.getPathRewriteSpecifierCase()) {
                    case PATH_REDIRECT:
                        rPath = r.getPathRedirect().isEmpty() ? null : lineSafe(r.getPathRedirect(), rp + ".path_redirect");
                        break;
                    case PREFIX_REWRITE:
                        prefixRewrite = lineSafe(r.getPrefixRewrite(), rp + ".prefix_rewrite");
                        break;
                    case REGEX_REWRITE:
                        lineSafe(r.getRegexRewrite().getSubstitution(), rp + ".regex_rewrite.substitution");
                        regexRewrite = Regexes.Substitution.from(r.getRegexRewrite(), rp + ".regex_rewrite");
                        break;
                    default:
                        break;
                }
                rStrip = r.getStripQuery();
                switch (r.getResponseCode()) {
                    case MOVED_PERMANENTLY:
                        rStatus = HttpResponseStatus.MOVED_PERMANENTLY;
                        break;
                    case FOUND:
                        rStatus = HttpResponseStatus.FOUND;
                        break;
                    case SEE_OTHER:
                        rStatus = HttpResponseStatus.SEE_OTHER;
                        break;
                    case TEMPORARY_REDIRECT:
                        rStatus = HttpResponseStatus.TEMPORARY_REDIRECT;
                        break;
                    case PERMANENT_REDIRECT:
                        rStatus = HttpResponseStatus.PERMANENT_REDIRECT;
                        break;
                    default:
                        throw new ConfigException(rp + ".response_code: " + r.getResponseCodeValue()
                                                  + " (expected: a RedirectResponseCode)");
                }
                break;
            }
            case DIRECT_RESPONSE: {
                kind = Kind.DIRECT_RESPONSE;
                final DirectResponseAction d = route.getDirectResponse();
                final String dp = path + ".direct_response";
                dStatus = d.getStatus();
                if (dStatus < 200 || dStatus > 599) {
                    throw new ConfigException(dp + ".status: " + Integer.toUnsignedString(dStatus)
                                              + " (expected: in [200, 599])");
                }
                if (d.hasBody()) {
                    final DataSource b = d.getBody();
                    switch (b.getSpecifierCase()) {
                        case INLINE_STRING:
                            dBody = b.getInlineString();
                            break;
                        case INLINE_BYTES:
                            dBody = b.getInlineBytes().toStringUtf8();
                            break;
                        case SPECIFIER_NOT_SET:
                            break;
                        default:
                            throw new ConfigException(dp + ".body." + b.getSpecifierCase().name().toLowerCase(Locale.ROOT)
                                                      + ": " + b.getSpecifierCase()
                                                      + " (expected: inline_string or inline_bytes)");
                    }
                    if (dBody.getBytes(StandardCharsets.UTF_8).length > MAX_DIRECT_BODY_BYTES) {
                        throw new ConfigException(dp + ".body: " + dBody.length() + " characters (expected: <= "
                                                  + MAX_DIRECT_BODY_BYTES + " bytes)");
                    }
                }
                break;
            }
            default:
                throw new ConfigException(path + ".action: " + route.getActionCase()
                                          + " (expected: exactly one of route, redirect or direct_response)");
        }
        if (prefixRewrite != null && (pathMatch.kind == PathMatch.Kind.REGEX)) {
            throw new ConfigException(path + (kind == Kind.REDIRECT ? ".redirect" : ".route") + ".prefix_rewrite: "
                                      + prefixRewrite + " (expected: not used with a safe_regex match;"
                                      + " use regex_rewrite)");
        }
        this.cluster = cluster;
        this.clusterHeader = clusterHeader;
        this.weightedNames = weightedNames;
        this.weightedCumulative = weightedCumulative;
        this.weightedTotal = weightedTotal;
        this.weightedRandomHeader = weightedRandomHeader;
        this.weightedExtras = weightedExtras;
        this.timeoutMillis = timeout;
        this.idleTimeoutMillis = idle;
        this.hasIdleTimeout = hasIdle;
        this.retryPolicy = retry;
        this.prefixRewrite = prefixRewrite;
        this.regexRewrite = regexRewrite;
        this.hostRewriteLiteral = hostRewriteLiteral;
        this.hostRewriteHeader = hostRewriteHeader;
        this.autoHostRewrite = autoHost;
        this.hashPolicy = hash;
        this.mirrorPolicies = mirrors;
        this.rateLimits = rateLimits;
        this.includeVhRateLimits = includeVh;
        this.redirectScheme = rScheme;
        this.redirectHost = rHost;
        this.redirectPort = rPort;
        this.redirectPath = rPath;
        this.stripQuery = rStrip;
        this.redirectStatus = rStatus;
        this.directStatus = dStatus;
        this.directBody = dBody;
    }

    private static void rejectUnsupportedMatch(RouteMatch m, String mp) throws ConfigException {
        if (m.hasRuntimeFraction()) {
            throw unsupported(mp + ".runtime_fraction", m.getRuntimeFraction().getRuntimeKey());
        }
        if (m.hasGrpc()) {
            throw unsupported(mp + ".grpc", "{}");
        }
        if (m.hasTlsContext()) {
            throw unsupported(mp + ".tls_context", m.getTlsContext().toString().trim());
        }
        if (m.getFilterStateCount() > 0) {
            throw unsupported(mp + ".filter_state", "[" + m.getFilterStateCount() + " matchers]");
        }
    }

    private static ConfigException unsupported(String path, String value) {
        return new ConfigException(path + ": " + value + " (expected: unset; jmesh matches on path, headers,"
                                   + " query_parameters and dynamic_metadata only)");
    }

    private static HeaderMutations[] chain(boolean mostSpecificWins, HeaderMutations route, HeaderMutations vh,
                                           HeaderMutations cfg) {
        final HeaderMutations[] order = mostSpecificWins ? new HeaderMutations[] { cfg, vh, route }
                                                         : new HeaderMutations[] { route, vh, cfg };
        int n = 0;
        for (HeaderMutations h : order) {
            if (!h.isEmpty()) {
                order[n++] = h;
            }
        }
        return java.util.Arrays.copyOf(order, n);
    }

    boolean matches(RequestView request) {
        if (!pathMatch.matches(request.path)) {
            return false;
        }
        for (HeaderMatch h : headerMatches) {
            if (!h.matches(request)) {
                return false;
            }
        }
        for (QueryParameterMatch q : queryMatches) {
            if (!q.matches(request)) {
                return false;
            }
        }
        if (metadataMatches.length > 0) {
            Map<String, com.google.protobuf.Struct> metadata = request.dynamicMetadata();
            for (MetadataMatch d : metadataMatches) {
                if (!d.matches(metadata)) {
                    return false;
                }
            }
        }
        return true;
    }

    @Override
    public Kind kind() {
        return kind;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String decoratorOperation() {
        return decoratorOperation;
    }

    @Override
    public io.jmesh.proxy.telemetry.tracing.RouteTracing tracing() {
        return tracing;
    }

    @Override
    public String virtualHostName() {
        return virtualHostName;
    }

    private void ensure(Kind k) {
        if (kind != k) {
            throw new IllegalStateException("route " + name + " in " + virtualHostName + " is " + kind
                                            + ", not " + k);
        }
    }

    @Override
    public String selectCluster(HttpRequest request) {
        ensure(Kind.ROUTE);
        if (cluster != null) {
            return cluster;
        }
        if (clusterHeader != null) {
            final String v = RequestView.header(request, clusterHeader, null);
            return v == null ? "" : v;
        }
        long r = -1;
        if (weightedRandomHeader != null) {
            final String v = request.headers().get(weightedRandomHeader);
            if (v != null) {
                try {
                    r = Long.remainderUnsigned(Long.parseUnsignedLong(v), weightedTotal);
                } catch (NumberFormatException ignored) {
                    r = -1; // Envoy falls back to its own random value.
                }
            }
        }
        if (r < 0) {
            r = ThreadLocalRandom.current().nextLong(weightedTotal);
        }
        final long[] cumulative = weightedCumulative;
        for (int i = 0; i < cumulative.length; i++) {
            if (r < cumulative[i]) {
                return weightedNames[i];
            }
        }
        return weightedNames[weightedNames.length - 1];
    }

    @Override
    public long timeoutMillis() {
        return timeoutMillis;
    }

    @Override
    public long idleTimeoutMillis() {
        return idleTimeoutMillis;
    }

    @Override
    public boolean hasIdleTimeout() {
        return hasIdleTimeout;
    }

    @Override
    public RetryPolicy retryPolicy() {
        return retryPolicy;
    }

    @Override
    public void transformRequest(HttpRequest request) {
        transformRequest(request, null);
    }

    @Override
    public void transformRequest(HttpRequest request, String selectedCluster) {
        ensure(Kind.ROUTE);
        final HttpHeaders headers = request.headers();
        final WeightedClusterExtras extras = selectedCluster == null ? null : weightedExtras.get(selectedCluster);
        if (extras != null) {
            extras.request.apply(headers);
        }
        for (HeaderMutations h : requestMutations) {
            h.apply(headers);
        }
        if (extras != null && extras.hostRewriteLiteral != null) {
            headers.set(HttpHeaderNames.HOST, extras.hostRewriteLiteral);
        } else if (hostRewriteLiteral != null) {
            headers.set(HttpHeaderNames.HOST, hostRewriteLiteral);
        } else if (hostRewriteHeader != null) {
            final String v = headers.get(hostRewriteHeader);
            if (v != null) {
                headers.set(HttpHeaderNames.HOST, v);
            }
        }
        if (prefixRewrite != null || regexRewrite != null) {
            final String fullPath = RequestView.originForm(request.uri());
            final String newPath = rewritePath(fullPath);
            headers.set(X_ENVOY_ORIGINAL_PATH, fullPath);
            request.setUri(newPath);
        }
    }

    /** Applies prefix_rewrite or regex_rewrite to an origin-form path, keeping its query. */
    private String rewritePath(String fullPath) {
        final String path = RequestView.stripQuery(fullPath);
        final String rest = fullPath.substring(path.length());
        if (prefixRewrite != null) {
            final int matched = Math.min(pathMatch.matchedLength(path), path.length());
            return prefixRewrite + path.substring(matched) + rest;
        }
        return regexRewrite.apply(path) + rest;
    }

    @Override
    public boolean autoHostRewrite() {
        return autoHostRewrite;
    }

    @Override
    public void transformResponse(HttpResponse response) {
        transformResponse(response, null);
    }

    @Override
    public void transformResponse(HttpResponse response, String selectedCluster) {
        final HttpHeaders headers = response.headers();
        final WeightedClusterExtras extras = selectedCluster == null ? null : weightedExtras.get(selectedCluster);
        if (extras != null) {
            extras.response.apply(headers);
        }
        for (HeaderMutations h : responseMutations) {
            h.apply(headers);
        }
    }

    @Override
    public OptionalLong hash(HttpRequest request, InetSocketAddress downstreamRemote) {
        ensure(Kind.ROUTE);
        return hashPolicy.hash(request, downstreamRemote);
    }

    @Override
    public List<RateLimitPolicy> rateLimits() {
        return rateLimits;
    }

    @Override
    public List<RateLimitPolicy> virtualHostRateLimits() {
        return virtualHostRateLimits;
    }

    @Override
    public boolean includeVirtualHostRateLimits() {
        return includeVhRateLimits;
    }

    @Override
    public List<RequestMirrorPolicy> mirrorPolicies() {
        return mirrorPolicies;
    }

    @Override
    public FullHttpResponse redirect(HttpRequest request) {
        ensure(Kind.REDIRECT);
        final FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, redirectStatus,
                                                                 Unpooled.EMPTY_BUFFER);
        res.headers().set(HttpHeaderNames.LOCATION, location(request));
        res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
        return res;
    }

    /** Envoy's {@code Http::Utility::newUri} for this redirect. */
    String location(HttpRequest request) {
        final HttpHeaders headers = request.headers();
        String requestScheme = headers.get("x-forwarded-proto");
        if (requestScheme == null) {
            requestScheme = headers.get(RequestView.HTTP2_SCHEME);
        }
        if (requestScheme == null) {
            requestScheme = "http";
        }
        requestScheme = requestScheme.toLowerCase(Locale.ROOT);
        final String scheme = redirectScheme != null ? redirectScheme : requestScheme;
        final String port = redirectPort != 0 ? ":" + redirectPort : "";
        final String host;
        if (redirectHost != null) {
            host = redirectHost;
        } else {
            host = requestHost(headers.get(HttpHeaderNames.HOST), requestScheme, scheme, !port.isEmpty());
        }
        final String fullPath = RequestView.originForm(request.uri());
        String path;
        boolean keepQuery = false;
        if (redirectPath != null) {
            final int q = redirectPath.indexOf('?');
            if (q >= 0) {
                path = redirectPath; // its own query wins and is never stripped
                keepQuery = true;
            } else {
                final int rq = fullPath.indexOf('?');
                path = rq < 0 ? redirectPath : redirectPath + fullPath.substring(rq);
            }
        } else if (prefixRewrite != null || regexRewrite != null) {
            path = rewritePath(fullPath);
        } else {
            path = fullPath;
        }
        if (path.isEmpty() || path.charAt(0) != '/') {
            path = '/' + path;
        }
        if (stripQuery && !keepQuery) {
            final int q = path.indexOf('?');
            if (q >= 0) {
                path = path.substring(0, q);
            }
        }
        return scheme + "://" + host + port + path;
    }

    /**
     * The request's Host for the Location: its port is dropped when a port_redirect is set, or when
     * the scheme changes and the port was the default of the original scheme (Envoy's
     * {@code processRequestHost}).
     */
    private static String requestHost(String host, String requestScheme, String newScheme, boolean newPort) {
        if (host == null || host.isEmpty()) {
            return "";
        }
        final int colon;
        if (host.charAt(0) == '[') {
            final int close = host.lastIndexOf("]:");
            colon = close < 0 ? -1 : close + 1;
        } else {
            colon = host.lastIndexOf(':');
        }
        if (colon < 0) {
            return host;
        }
        final String p = host.substring(colon);
        boolean remove = newPort;
        if (!newScheme.equals(requestScheme)) {
            remove |= "https".equals(requestScheme) && ":443".equals(p);
            remove |= "http".equals(requestScheme) && ":80".equals(p);
        }
        return remove ? host.substring(0, colon) : host;
    }

    @Override
    public int directStatus() {
        ensure(Kind.DIRECT_RESPONSE);
        return directStatus;
    }

    @Override
    public String directBody() {
        ensure(Kind.DIRECT_RESPONSE);
        return directBody;
    }

    @Override
    public String toString() {
        return "RouteEntry{" + virtualHostName + '/' + name + ", " + kind + '}';
    }


    @Override
    public Object perFilterConfig(String filterName) {
        return filterConfigs.isEmpty() ? null : filterConfigs.get(filterName);
    }

    /**
     * Refuses a configured host, path, scheme or rewrite that would put a space, a control character (CR, LF,
     * NUL, ...) or DEL into a request line, a {@code host} or a {@code location} header.
     */
    static String lineSafe(String value, String path) throws ConfigException {
        for (int i = 0; i < value.length(); i++) {
            final char c = value.charAt(i);
            if (c <= ' ' || c == 0x7f) {
                throw new ConfigException(path + ": \"" + io.jmesh.proxy.internal.HttpFields.printable(value)
                                          + "\" (expected: no space or control characters)");
            }
        }
        return value;
    }
}
