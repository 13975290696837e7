package io.jmesh.proxy.router;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.google.protobuf.util.JsonFormat;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.jmesh.proxy.config.ConfigException;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;

/** Test helpers: RouteConfiguration from YAML (Envoy's own format) and bodiless requests. */
final class RouteConfigs {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper JSON = new ObjectMapper();

    private RouteConfigs() {}

    static RouteConfiguration parse(String yaml) {
        try {
            final String json = JSON.writeValueAsString(YAML.readTree(yaml));
            final RouteConfiguration.Builder b = RouteConfiguration.newBuilder();
            JsonFormat.parser().merge(json, b);
            return b.build();
        } catch (Exception e) {
            throw new IllegalArgumentException(e);
        }
    }

    static RouteTable table(String yaml) {
        try {
            return RouteTable.create(parse(yaml));
        } catch (ConfigException e) {
            throw new AssertionError(e);
        }
    }

    static HttpRequest get(String host, String uri) {
        return request(HttpMethod.GET, host, uri);
    }

    static HttpRequest request(HttpMethod method, String host, String uri) {
        final HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, method, uri);
        if (host != null) {
            r.headers().set("host", host);
        }
        return r;
    }
}
