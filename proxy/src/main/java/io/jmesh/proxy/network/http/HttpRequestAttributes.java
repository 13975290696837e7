package io.jmesh.proxy.network.http;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiConsumer;

import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.stream.RequestAttributes;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;

/**
 * {@link RequestAttributes} of an HTTP request, read live from its headers (so a later reader sees what filters
 * changed): protocol {@code grpc} for a gRPC content type, else {@code http}; host is {@code :authority}
 * ({@code Host}); pseudo-headers {@code :method}, {@code :path}, {@code :authority} and {@code :scheme} are
 * headers too. Header names are matched case-insensitively. Used on the stream's event loop.
 */
public final class HttpRequestAttributes implements RequestAttributes {

    private final HttpRequest request;
    private final ConnectionInfo connection;
    private final String scheme;

    /** A view of {@code request}, received on {@code connection} ({@code scheme} {@code http} or {@code https}). */
    public HttpRequestAttributes(HttpRequest request, ConnectionInfo connection, String scheme) {
        this.request = request;
        this.connection = connection;
        this.scheme = scheme;
    }

    @Override
    public String protocol() {
        return LocalReply.isGrpc(request) ? "grpc" : "http";
    }

    @Override
    public String host() {
        return request.headers().get(HttpHeaderNames.HOST);
    }

    @Override
    public String method() {
        return request.method().name();
    }

    @Override
    public String path() {
        return request.uri();
    }

    @Override
    public String header(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        switch (n) {
            case ":method":
                return method();
            case ":path":
                return path();
            case ":authority":
                return host();
            case ":scheme":
                return scheme;
            default:
                break;
        }
        List<String> all = request.headers().getAll(n);
        if (all.isEmpty()) {
            return null;
        }
        return all.size() == 1 ? all.get(0) : String.join(",", all);
    }

    @Override
    public void forEachHeader(BiConsumer<String, String> action) {
        action.accept(":method", method());
        action.accept(":path", path());
        String host = host();
        if (host != null) {
            action.accept(":authority", host);
        }
        action.accept(":scheme", scheme);
        for (Map.Entry<String, String> e : request.headers()) {
            String name = e.getKey().toLowerCase(Locale.ROOT);
            if (!name.equals("host")) {
                action.accept(name, e.getValue());
            }
        }
    }

    @Override
    public ConnectionInfo connection() {
        return connection;
    }
}
