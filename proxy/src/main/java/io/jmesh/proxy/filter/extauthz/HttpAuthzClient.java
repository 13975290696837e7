package io.jmesh.proxy.filter.extauthz;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
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
import io.jmesh.proxy.upstream.Host;
import io.jmesh.proxy.upstream.UpstreamCluster;

/**
 * The HTTP authorization service of {@code http_service}: the request's method and {@code path_prefix + path}, its
 * {@code authorization} header and those of {@code authorization_request.allowed_headers}, the buffered body, and
 * {@code headers_to_add}, sent to a host of the cluster with the JDK's HTTP client (HTTP/1.1, plaintext). A 200
 * answer allows (its headers matched by {@code allowed_upstream_headers} go upstream, by
 * {@code allowed_upstream_headers_to_append} are appended, by {@code allowed_client_headers_on_success} go to the
 * client); any other status denies with that status, the body and the headers matched by
 * {@code allowed_client_headers} (all but hop-by-hop ones when unset). Thread-safe.
 */
final class HttpAuthzClient implements AuthzClient {

    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .followRedirects(HttpClient.Redirect.NEVER).build();

    /** Headers the JDK client sets itself or refuses. */
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
    public void check(CheckRequest request, long timeoutMillis, Consumer<AuthzResult> done) {
        ClusterManager cm = clusters.get();
        UpstreamCluster c = cm == null ? null : cm.get(cluster);
        if (c == null) {
            done.accept(AuthzResult.error("cluster " + cluster + " not found"));
            return;
        }
        Host host = c.chooseHost(null);
        if (host == null) {
            done.accept(AuthzResult.error("no healthy upstream in cluster " + cluster));
            return;
        }
        AttributeContext.HttpRequest http = request.getAttributes().getRequest().getHttp();
        HttpRequest.Builder b;
        try {
            b = HttpRequest.newBuilder(URI.create("http://" + host.addressString() + pathPrefix + http.getPath()));
        } catch (IllegalArgumentException e) {
            done.accept(AuthzResult.error("bad authorization request path: " + e.getMessage()));
            return;
        }
        for (Map.Entry<String, String> h : http.getHeadersMap().entrySet()) {
            String name = h.getKey();
            if (name.startsWith(":") || RESTRICTED.contains(name)) {
                continue;
            }
            if (name.equals("authorization") || any(allowedHeaders, name)) {
                b.header(name, h.getValue());
            }
        }
        for (Map.Entry<String, String> h : headersToAdd.entrySet()) {
            b.setHeader(h.getKey(), h.getValue());
        }
        byte[] body = http.getRawBody().isEmpty() ? http.getBody().getBytes(java.nio.charset.StandardCharsets.UTF_8)
                : http.getRawBody().toByteArray();
        b.method(http.getMethod().isEmpty() ? "GET" : http.getMethod(), body.length == 0
                ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        if (timeoutMillis > 0) {
            b.timeout(Duration.ofMillis(timeoutMillis));
        }
        CLIENT.sendAsync(b.build(), HttpResponse.BodyHandlers.ofString()).whenComplete((r, t) -> {
            if (t != null) {
                done.accept(AuthzResult.error(t.toString()));
            } else {
                done.accept(toResult(r));
            }
        });
    }

    private AuthzResult toResult(HttpResponse<String> r) {
        List<AuthzResult.HeaderAction> upstream = new ArrayList<>();
        List<AuthzResult.HeaderAction> client = new ArrayList<>();
        boolean ok = r.statusCode() == 200;
        r.headers().map().forEach((rawName, values) -> {
            String name = rawName.toLowerCase(Locale.ROOT);
            if (RESTRICTED.contains(name) || name.startsWith(":")) {
                return;
            }
            for (String v : values) {
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
        });
        if (ok) {
            return new AuthzResult(AuthzResult.Status.OK, 200, upstream, List.of(), client, "", null, null);
        }
        return new AuthzResult(AuthzResult.Status.DENIED, r.statusCode(), List.of(), List.of(), client, r.body(), null,
                null);
    }
}
