package io.jmesh.proxy.router;

import java.util.List;
import java.util.Map;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.QueryStringDecoder;

/**
 * What route matching reads from one request: the path split from its query once, header values
 * with Envoy's pseudo-header names mapped onto Netty's request form, and query parameters decoded
 * only when a matcher asks for them. Not thread-safe; lives for one {@code route()} call.
 */
final class RequestView {

    /** Netty's HTTP/2 to HTTP/1 conversion keeps {@code :scheme} in this extension header. */
    static final String HTTP2_SCHEME = "x-http2-scheme";

    final HttpRequest request;
    /** The full {@code :path}, with query, in origin form. */
    final String fullPath;
    /** The path without query and fragment. */
    final String path;
    private Map<String, List<String>> query;
    /** The stream's dynamic metadata (namespace to struct), read only by routes that match on it; may be null. */
    private final java.util.function.Supplier<Map<String, com.google.protobuf.Struct>> dynamicMetadata;

    RequestView(HttpRequest request) {
        this(request, null);
    }

    RequestView(HttpRequest request, java.util.function.Supplier<Map<String, com.google.protobuf.Struct>> dynamicMetadata) {
        this.dynamicMetadata = dynamicMetadata;
        this.request = request;
        this.fullPath = originForm(request.uri());
        this.path = stripQuery(fullPath);
    }

    /** Returns the origin form of a request target: {@code http://h/p?q} becomes {@code /p?q}. */
    static String originForm(String uri) {
        if (uri.isEmpty() || uri.charAt(0) == '/') {
            return uri;
        }
        final int scheme = uri.indexOf("://");
        if (scheme < 0) {
            return uri; // asterisk form or garbage: leave to the codec
        }
        final int slash = uri.indexOf('/', scheme + 3);
        if (slash < 0) {
            final int q = uri.indexOf('?', scheme + 3);
            return q < 0 ? "/" : "/" + uri.substring(q);
        }
        return uri.substring(slash);
    }

    /** The stream's dynamic metadata, or null when there is none. */
    Map<String, com.google.protobuf.Struct> dynamicMetadata() {
        return dynamicMetadata == null ? null : dynamicMetadata.get();
    }

    static String stripQuery(String path) {
        for (int i = 0; i < path.length(); i++) {
            final char c = path.charAt(i);
            if (c == '?' || c == '#') {
                return path.substring(0, i);
            }
        }
        return path;
    }

    /** The first value of the query parameter, percent-decoded, or null when absent. */
    String firstQueryValue(String name) {
        if (query == null) {
            final int q = fullPath.indexOf('?');
            if (q < 0) {
                return null;
            }
            query = new QueryStringDecoder(fullPath, true).parameters();
        }
        final List<String> values = query.get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    /**
     * Returns every value of a header joined with {@code ','} as Envoy does, or null when absent.
     * {@code name} is lower case; {@code :authority}/{@code host}, {@code :method}, {@code :path}
     * and {@code :scheme} are read from where Netty keeps them.
     */
    String header(String name) {
        return header(request, name, fullPath);
    }

    static String header(HttpRequest request, String name, String fullPath) {
        if (!name.isEmpty() && name.charAt(0) == ':') {
            switch (name) {
                case ":authority":
                    return request.headers().get(HttpHeaderNames.HOST);
                case ":method":
                    return request.method().name();
                case ":path":
                    return fullPath != null ? fullPath : originForm(request.uri());
                case ":scheme": {
                    final String s = request.headers().get(HTTP2_SCHEME);
                    return s != null ? s : "http";
                }
                default:
                    return null;
            }
        }
        final HttpHeaders headers = request.headers();
        final String first = headers.get(name);
        if (first == null) {
            return null;
        }
        final List<String> all = headers.getAll(name);
        if (all.size() == 1) {
            return first;
        }
        return String.join(",", all);
    }
}
