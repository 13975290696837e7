package io.jmesh.proxy.router;

import static io.jmesh.proxy.router.RouteConfigs.get;
import static io.jmesh.proxy.router.RouteConfigs.table;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

class HeaderMutationTest {

    private static String config(boolean mostSpecificWins) {
        return """
                most_specific_header_mutations_wins: %s
                request_headers_to_add:
                - {header: {key: x-level, value: config}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}
                - {header: {key: x-all, value: config}}
                request_headers_to_remove: [x-drop-config]
                response_headers_to_add:
                - {header: {key: x-resp, value: config}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}
                response_headers_to_remove: [server]
                virtual_hosts:
                - name: vh
                  domains: ["*"]
                  request_headers_to_add:
                  - {header: {key: x-level, value: vhost}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}
                  - {header: {key: x-all, value: vhost}}
                  request_headers_to_remove: [x-drop-vhost]
                  response_headers_to_add:
                  - {header: {key: x-resp, value: vhost}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}
                  routes:
                  - match: {prefix: "/"}
                    route: {cluster: c}
                    request_headers_to_add:
                    - {header: {key: x-level, value: route}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}
                    - {header: {key: x-all, value: route}}
                    request_headers_to_remove: [x-drop-route]
                    response_headers_to_add:
                    - {header: {key: x-resp, value: route}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}
                """.formatted(mostSpecificWins);
    }

    @Test
    void threeLevelsLeastSpecificWinsByDefault() {
        final RouteTable t = table(config(false));
        final HttpRequest r = get("h", "/");
        r.headers().add("x-drop-config", "1").add("x-drop-vhost", "1").add("x-drop-route", "1").add("x-keep", "1");
        t.route(r).transformRequest(r);
        // Envoy evaluates route, then virtual host, then route configuration; later ones win.
        assertEquals("config", r.headers().get("x-level"));
        assertEquals(List.of("route", "vhost", "config"), r.headers().getAll("x-all"));
        assertFalse(r.headers().contains("x-drop-config"));
        assertFalse(r.headers().contains("x-drop-vhost"));
        assertFalse(r.headers().contains("x-drop-route"));
        assertEquals("1", r.headers().get("x-keep"));

        final HttpResponse res = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        res.headers().set("server", "upstream");
        t.route(r).transformResponse(res);
        assertEquals("config", res.headers().get("x-resp"));
        assertNull(res.headers().get("server"));
    }

    @Test
    void mostSpecificWinsReversesTheOrder() {
        final RouteTable t = table(config(true));
        final HttpRequest r = get("h", "/");
        t.route(r).transformRequest(r);
        assertEquals("route", r.headers().get("x-level"));
        assertEquals(List.of("config", "vhost", "route"), r.headers().getAll("x-all"));
        final HttpResponse res = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        t.route(r).transformResponse(res);
        assertEquals("route", res.headers().get("x-resp"));
    }

    @Test
    void appendActions() {
        final RouteTable t = table("""
                virtual_hosts:
                - name: vh
                  domains: ["*"]
                  routes:
                  - match: {prefix: "/"}
                    route: {cluster: c}
                    request_headers_to_add:
                    - {header: {key: x-append, value: b}}
                    - {header: {key: x-absent, value: new}, append_action: ADD_IF_ABSENT}
                    - {header: {key: x-absent2, value: new}, append_action: ADD_IF_ABSENT}
                    - {header: {key: x-over, value: new}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}
                    - {header: {key: x-over2, value: new}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}
                    - {header: {key: x-if-exists, value: new}, append_action: OVERWRITE_IF_EXISTS}
                    - {header: {key: x-if-exists2, value: new}, append_action: OVERWRITE_IF_EXISTS}
                    - {header: {key: x-legacy-false, value: new}, append: false}
                    - {header: {key: x-legacy-true, value: new}, append: true}
                    - {header: {key: x-empty, value: ""}}
                    - {header: {key: x-empty-kept, value: ""}, keep_empty_value: true}
                    - {header: {key: x-percent, value: "100%%"}}
                """);
        final HttpRequest r = get("h", "/");
        r.headers().add("x-append", "a").add("x-absent", "old").add("x-over", "old1").add("x-over", "old2")
         .add("x-if-exists", "old").add("x-legacy-false", "old").add("x-legacy-true", "old");
        t.route(r).transformRequest(r);
        assertEquals(List.of("a", "b"), r.headers().getAll("x-append"));
        assertEquals(List.of("old"), r.headers().getAll("x-absent"));
        assertEquals(List.of("new"), r.headers().getAll("x-absent2"));
        assertEquals(List.of("new"), r.headers().getAll("x-over"));
        assertEquals(List.of("new"), r.headers().getAll("x-over2"));
        assertEquals(List.of("new"), r.headers().getAll("x-if-exists"));
        assertFalse(r.headers().contains("x-if-exists2"));
        assertEquals(List.of("new"), r.headers().getAll("x-legacy-false"));
        assertEquals(List.of("old", "new"), r.headers().getAll("x-legacy-true"));
        assertFalse(r.headers().contains("x-empty"));
        assertEquals(List.of(""), r.headers().getAll("x-empty-kept"));
        assertEquals("100%", r.headers().get("x-percent"));
    }

    @Test
    void weightedClusterLevelMutationsApplyForTheChosenCluster() {
        final RouteTable t = table("""
                virtual_hosts:
                - name: vh
                  domains: ["*"]
                  routes:
                  - match: {prefix: "/"}
                    request_headers_to_add:
                    - {header: {key: x-level, value: route}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}
                    route:
                      weighted_clusters:
                        clusters:
                        - name: a
                          weight: 1
                          host_rewrite_literal: a.internal
                          request_headers_to_add:
                          - {header: {key: x-level, value: cluster}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}
                          - {header: {key: x-cluster, value: a}}
                          response_headers_to_add: [{header: {key: x-from, value: a}}]
                        - {name: b, weight: 1}
                """);
        final HttpRequest ra = get("h", "/");
        t.route(ra).transformRequest(ra, "a");
        assertEquals("a", ra.headers().get("x-cluster"));
        assertEquals("route", ra.headers().get("x-level")); // the weighted cluster level is evaluated first
        assertEquals("a.internal", ra.headers().get("host"));
        final HttpRequest rb = get("h", "/");
        t.route(rb).transformRequest(rb, "b");
        assertFalse(rb.headers().contains("x-cluster"));
        assertEquals("h", rb.headers().get("host"));
        final HttpResponse res = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        t.route(ra).transformResponse(res, "a");
        assertEquals("a", res.headers().get("x-from"));
    }
}
