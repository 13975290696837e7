package io.jmesh.proxy.filter.extauthz;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;

import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.jmesh.proxy.router.StringMatch;
import io.jmesh.proxy.upstream.ClusterManager;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;

/**
 * The HTTP authorization service of {@code http_service}: the request's method and {@code path_prefix + path}, its
 * {@code authorization} header and those of {@code authorization_request.allowed_headers}, the buffered body, and
 * {@code headers_to_add}, sent through the cluster (its load balancer, connection pool and {@code transport_socket}:
 * TLS when the cluster has an {@code UpstreamTlsContext}, as Envoy's async client does; see {@link ClusterCall}). A 200
 * answer allows (its headers matched by {@code allowed_upstream_headers} go upstream, by
 * {@code allowed_upstream_headers_to_append} are appended, by {@code allowed_client_headers_on_success} go to the
 * client); any other status denies with that status, the body and the headers matched by
 * {@code allowed_client_headers} (all but hop-by-hop ones when unset). Thread-safe.
 */
final class HttpAuthzClient implements AuthzClient {

    /** Hop-by-hop headers and those the call sets itself: never copied either way. */
    private static final Set<String> RESTRICTED = Set.of("host", "content-length", "connection", "expect", "upgrade",
            "transfer-encoding", "te", "keep-alive", "proxy-connection");

    private final Supplier<ClusterManager> clusters;
    private final String cluster;
    private final String pathPrefix;
    private final List<StringMatch> allowedHeaders;
    private final Map<String, String> headersToAdd;
    private final List<StringMatch> upstreamHeaders;
    private final List<StringMatch> upstreamHeadersToAppend;
    private final List<StringMatch> clientHeaders;
    private final List<StringMatch> clientHeadersOnSuccess;

    HttpAuthzClient(Supplier<ClusterManager> clusters, String cluster, String pathPrefix, List<StringMatch> allowedHeaders,
                    Map<String, String> headersToAdd, List<StringMatch> upstreamHeaders,
                    List<StringMatch> upstreamHeadersToAppend, List<StringMatch> clientHeaders,
                    List<StringMatch> clientHeadersOnSuccess) {
        this.clusters = clusters;
        this.cluster = cluster;
        this.pathPrefix = pathPrefix;
        this.allowedHeaders = allowedHeaders;
        this.headersToAdd = headersToAdd;
        this.upstreamHeaders = upstreamHeaders;
        this.upstreamHeadersToAppend = upstreamHeadersToAppend;
        this.clientHeaders = clientHeaders;
        this.clientHeadersOnSuccess = clientHeadersOnSuccess;
    }

    private static boolean any(List<StringMatch> list, String name) {
        for (StringMatch m : list) {
            if (m.matches(name)) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void check(CheckRequest request, long timeoutMillis, EventLoop loop, Consumer<AuthzResult> done) {
        AttributeContext.HttpRequest http = request.getAttributes().getRequest().getHttp();
        String path = pathPrefix + http.getPath();
        if (path.isEmpty() || path.charAt(0) != '/' || path.chars().anyMatch(ch -> ch <= ' ' || ch == 0x7f)) {
            done.accept(AuthzResult.error("bad authorization request path: " + path));
            return;
        }
        byte[] body = http.getRawBody().isEmpty() ? http.getBody().getBytes(StandardCharsets.UTF_8)
                : http.getRawBody().toByteArray();
        HttpMethod method = HttpMethod.valueOf(http.getMethod().isEmpty() ? "GET" : http.getMethod());
        ClusterCall.start(clusters, cluster, loop, false, timeoutMillis, host -> {
            DefaultFullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, method, path,
                    Unpooled.wrappedBuffer(body));
            HttpHeaders h = req.headers();
            for (Map.Entry<String, String> e : http.getHeadersMap().entrySet()) {
                String name = e.getKey();
                if (name.startsWith(":") || RESTRICTED.contains(name)) {
                    continue;
                }
                if (name.equals("authorization") || any(allowedHeaders, name)) {
                    h.set(name, e.getValue());
                }
            }
            for (Map.Entry<String, String> e : headersToAdd.entrySet()) {
                h.set(e.getKey(), e.getValue());
            }
            // Envoy keeps the request's :authority (an allowed header by default).
            h.set(HttpHeaderNames.HOST, http.getHost().isEmpty() ? host.addressString() : http.getHost());
            h.setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
            return req;
        }, o -> done.accept(o.error() != null ? AuthzResult.error(o.error()) : toResult(o.answer())));
    }

    private AuthzResult toResult(ClusterCall.Answer r) {
        List<AuthzResult.HeaderAction> upstream = new ArrayList<>();
        List<AuthzResult.HeaderAction> client = new ArrayList<>();
        boolean ok = r.status() == 200;
        for (String rawName : r.headers().names()) {
            String name = rawName.toLowerCase(Locale.ROOT);
            if (RESTRICTED.contains(name) || name.startsWith(":") || name.startsWith("x-http2-")) {
                continue;
            }
            for (String v : r.headers().getAll(rawName)) {
                if (ok) {
                    if (any(upstreamHeaders, name)) {
                        upstream.add(new AuthzResult.HeaderAction(name, v, false));
                    } else if (any(upstreamHeadersToAppend, name)) {
                        upstream.add(new AuthzResult.HeaderAction(name, v, true));
                    }
                    if (any(clientHeadersOnSuccess, name)) {
                        client.add(new AuthzResult.HeaderAction(name, v, false));
                    }
                } else if (clientHeaders.isEmpty() || any(clientHeaders, name)) {
                    client.add(new AuthzResult.HeaderAction(name, v, false));
                }
            }
        }
        if (ok) {
            return new AuthzResult(AuthzResult.Status.OK, 200, upstream, List.of(), client, "", null, null);
        }
        return new AuthzResult(AuthzResult.Status.DENIED, r.status(), List.of(), List.of(), client,
                new String(r.body(), StandardCharsets.UTF_8), null, null);
    }
}
