package io.jmesh.proxy.router;

import static io.jmesh.proxy.router.RouteConfigs.get;
import static io.jmesh.proxy.router.RouteConfigs.parse;
import static io.jmesh.proxy.router.RouteConfigs.request;
import static io.jmesh.proxy.router.RouteConfigs.table;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.config.ConfigException;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;

class RouteTableTest {

    private static String name(RouteTable t, HttpRequest r) {
        final RouteEntry e = t.route(r);
        return e == null ? null : e.name();
    }

    // ---- virtual hosts

    private static final String DOMAINS = """
            name: domains
            virtual_hosts:
            - name: exact
              domains: ["www.example.com", "api.example.com:8443", "solo.org"]
              routes: [{name: exact, match: {prefix: "/"}, route: {cluster: c}}]
            - name: suffix
              domains: ["*.example.com"]
              routes: [{name: suffix, match: {prefix: "/"}, route: {cluster: c}}]
            - name: longer-suffix
              domains: ["*.eu.example.com"]
              routes: [{name: longer-suffix, match: {prefix: "/"}, route: {cluster: c}}]
            - name: prefix
              domains: ["www.example.*", "www.*"]
              routes: [{name: prefix, match: {prefix: "/"}, route: {cluster: c}}]
            - name: default
              domains: ["*"]
              routes: [{name: default, match: {prefix: "/"}, route: {cluster: c}}]
            """;

    @Test
    void virtualHostPrecedence() {
        final RouteTable t = table(DOMAINS);
        assertEquals("domains", t.name());
        assertEquals("exact", t.virtualHostName("www.example.com"));
        assertEquals("exact", t.virtualHostName("WWW.Example.COM"));
        assertEquals("suffix", t.virtualHostName("foo.example.com"));
        assertEquals("longer-suffix", t.virtualHostName("foo.eu.example.com"));
        assertEquals("prefix", t.virtualHostName("www.example.org"));
        assertEquals("prefix", t.virtualHostName("www.other.org"));
        assertEquals("default", t.virtualHostName("other.org"));
        assertEquals("default", t.virtualHostName(""));
        // A wildcard never matches an empty remainder.
        assertEquals("default", t.virtualHostName(".example.com"));
        assertEquals("default", t.virtualHostName("www."));
        assertEquals("exact", name(t, get("www.example.com", "/x")));
        assertEquals("default", name(t, get(null, "/x")));
    }

    @Test
    void hostWithPortTriesFullValueThenWithoutPort() {
        final RouteTable t = table(DOMAINS);
        assertEquals("exact", t.virtualHostName("api.example.com:8443"));
        // api.example.com (no port) is not an exact domain: the suffix wildcard takes it.
        assertEquals("suffix", t.virtualHostName("api.example.com"));
        // The full value is tried first, against every kind of domain, as Envoy does.
        assertEquals("prefix", t.virtualHostName("www.example.com:8080"));
        assertEquals("exact", t.virtualHostName("solo.org:8080"));
        assertEquals("exact", t.virtualHostName("SOLO.org:8080"));
        assertEquals("suffix", t.virtualHostName("x.example.com:80"));
        assertEquals("default", t.virtualHostName("other.org:80"));
    }

    @Test
    void noDefaultVirtualHostGivesNull() {
        final RouteTable t = table("""
                virtual_hosts:
                - name: a
                  domains: ["a.com"]
                  routes: [{match: {prefix: "/"}, route: {cluster: c}}]
                """);
        assertNull(t.route(get("b.com", "/")));
        assertNotNull(t.route(get("a.com", "/")));
    }

    @Test
    void duplicateDomainsAreRejected() {
        final ConfigException e = assertThrows(ConfigException.class, () -> RouteTable.create(parse("""
                virtual_hosts:
                - name: a
                  domains: ["a.com"]
                  routes: []
                - name: b
                  domains: ["b.com", "A.com"]
                  routes: []
                """)));
        assertTrue(e.getMessage().startsWith("virtual_hosts[1].domains[1]: A.com (expected: unique"), e.getMessage());
        assertTrue(e.getMessage().contains("virtual_hosts[0].domains[0]"), e.getMessage());
    }

    // ---- path matching

    private static final String PATHS = """
            virtual_hosts:
            - name: vh
              domains: ["*"]
              routes:
              - {name: path, match: {path: "/exact"}, route: {cluster: c}}
              - {name: ci-path, match: {path: "/Upper", case_sensitive: false}, route: {cluster: c}}
              - {name: regex, match: {safe_regex: {regex: "/users/[0-9]+"}}, route: {cluster: c}}
              - {name: sep, match: {path_separated_prefix: "/api"}, route: {cluster: c}}
              - {name: ci-prefix, match: {prefix: "/static/", case_sensitive: false}, route: {cluster: c}}
              - {name: prefix, match: {prefix: "/ex"}, route: {cluster: c}}
              - {name: catch-all, match: {prefix: ""}, route: {cluster: c}}
            """;

    @Test
    void pathMatchKinds() {
        final RouteTable t = table(PATHS);
        assertEquals("path", name(t, get("h", "/exact")));
        assertEquals("path", name(t, get("h", "/exact?q=1")));
        assertEquals("prefix", name(t, get("h", "/exact/more")));
        assertEquals("catch-all", name(t, get("h", "/Exact")));
        assertEquals("catch-all", name(t, get("h", "/EXACT")));
        assertEquals("ci-path", name(t, get("h", "/uPPER")));
        assertEquals("regex", name(t, get("h", "/users/42")));
        assertEquals("regex", name(t, get("h", "/users/42?x=/a")));
        // Full match only.
        assertEquals("catch-all", name(t, get("h", "/users/42/x")));
        assertEquals("sep", name(t, get("h", "/api")));
        assertEquals("sep", name(t, get("h", "/api/v1")));
        assertEquals("sep", name(t, get("h", "/api?x")));
        assertEquals("catch-all", name(t, get("h", "/apix")));
        assertEquals("ci-prefix", name(t, get("h", "/STATIC/a.css")));
        assertEquals("prefix", name(t, get("h", "/exa")));
        // Absolute-form request targets are matched on their path.
        assertEquals("path", name(t, get("h", "http://h/exact?x")));
    }

    @Test
    void firstMatchingRouteWins() {
        final RouteTable t = table("""
                virtual_hosts:
                - name: vh
                  domains: ["*"]
                  routes:
                  - {name: first, match: {prefix: "/a"}, route: {cluster: c1}}
                  - {name: second, match: {prefix: "/a/b"}, route: {cluster: c2}}
                """);
        final RouteEntry e = t.route(get("h", "/a/b"));
        assertEquals("first", e.name());
        assertEquals("vh", e.virtualHostName());
        assertEquals(RouteEntry.Kind.ROUTE, e.kind());
        assertEquals("c1", e.selectCluster(get("h", "/a/b")));
        assertNull(t.route(get("h", "/b")));
    }

    // ---- header and query matching

    private static final String HEADERS = """
            virtual_hosts:
            - name: vh
              domains: ["*"]
              routes:
              - name: exact
                match: {prefix: "/", headers: [{name: x-exact, string_match: {exact: "Yes"}}]}
                route: {cluster: c}
              - name: exact-ic
                match: {prefix: "/", headers: [{name: X-Ic, string_match: {exact: "yes", ignore_case: true}}]}
                route: {cluster: c}
              - name: prefix
                match: {prefix: "/", headers: [{name: x-prefix, string_match: {prefix: ab}}]}
                route: {cluster: c}
              - name: suffix
                match: {prefix: "/", headers: [{name: x-suffix, string_match: {suffix: yz, ignore_case: true}}]}
                route: {cluster: c}
              - name: contains
                match: {prefix: "/", headers: [{name: x-contains, string_match: {contains: mid, ignore_case: true}}]}
                route: {cluster: c}
              - name: regex
                match: {prefix: "/", headers: [{name: x-regex, string_match: {safe_regex: {regex: "v[0-9]+"}}}]}
                route: {cluster: c}
              - name: legacy-exact
                match: {prefix: "/", headers: [{name: x-legacy, exact_match: "1"}]}
                route: {cluster: c}
              - name: legacy-regex
                match: {prefix: "/", headers: [{name: x-legacy, safe_regex_match: {regex: "[a-z]+"}}]}
                route: {cluster: c}
              - name: present
                match: {prefix: "/", headers: [{name: x-present, present_match: true}]}
                route: {cluster: c}
              - name: method
                match: {prefix: "/", headers: [{name: ":method", string_match: {exact: POST}}]}
                route: {cluster: c}
              - name: not-internal
                match: {prefix: "/inv", headers: [{name: x-internal, string_match: {exact: "1"}, invert_match: true}]}
                route: {cluster: c}
              - name: absent
                match: {prefix: "/absent", headers: [{name: x-present, present_match: false}]}
                route: {cluster: c}
              - name: joined
                match: {prefix: "/", headers: [{name: x-multi, string_match: {exact: "a,b"}}]}
                route: {cluster: c}
              - name: query
                match: {prefix: "/", query_parameters: [{name: debug, string_match: {exact: "on x"}}]}
                route: {cluster: c}
              - name: query-present
                match: {prefix: "/", query_parameters: [{name: trace, present_match: true}]}
                route: {cluster: c}
              - name: none
                match: {prefix: "/"}
                route: {cluster: c}
            """;

    private static HttpRequest with(String path, String... nameValues) {
        final HttpRequest r = get("h", path);
        for (int i = 0; i < nameValues.length; i += 2) {
            r.headers().add(nameValues[i], nameValues[i + 1]);
        }
        return r;
    }

    @Test
    void headerMatchers() {
        final RouteTable t = table(HEADERS);
        assertEquals("exact", name(t, with("/", "X-Exact", "Yes")));
        assertEquals("none", name(t, with("/", "x-exact", "yes")));
        assertEquals("exact-ic", name(t, with("/", "x-ic", "YES")));
        assertEquals("prefix", name(t, with("/", "x-prefix", "abc")));
        assertEquals("none", name(t, with("/", "x-prefix", "Abc")));
        assertEquals("suffix", name(t, with("/", "x-suffix", "xYZ")));
        assertEquals("contains", name(t, with("/", "x-contains", "aMIDb")));
        assertEquals("regex", name(t, with("/", "x-regex", "v12")));
        assertEquals("none", name(t, with("/", "x-regex", "v12x")));
        assertEquals("legacy-exact", name(t, with("/", "x-legacy", "1")));
        assertEquals("legacy-regex", name(t, with("/", "x-legacy", "abc")));
        assertEquals("present", name(t, with("/", "x-present", "")));
        assertEquals("method", name(t, request(HttpMethod.POST, "h", "/")));
        assertEquals("joined", name(t, with("/", "x-multi", "a", "x-multi", "b")));
        assertEquals("none", name(t, with("/", "x-multi", "a")));
    }

    @Test
    void invertAndAbsentHeaders() {
        final RouteTable t = table(HEADERS);
        // invert_match: an absent header does not match a string matcher, inverted or not (Envoy).
        assertEquals("none", name(t, with("/inv")));
        assertEquals("not-internal", name(t, with("/inv", "x-internal", "0")));
        assertEquals("none", name(t, with("/inv", "x-internal", "1")));
        // present_match: false matches only when the header is absent.
        assertEquals("absent", name(t, with("/absent")));
    }

    @Test
    void queryParameterMatchers() {
        final RouteTable t = table(HEADERS);
        assertEquals("query", name(t, with("/?a=1&debug=on%20x")));
        assertEquals("none", name(t, with("/?debug=off")));
        assertEquals("query-present", name(t, with("/?trace")));
        assertEquals("query-present", name(t, with("/?trace=0")));
        assertEquals("none", name(t, with("/?tracex=1")));
    }

    // ---- route action

    @Test
    void routeActionDefaultsAndTimeouts() {
        final RouteTable t = table("""
                virtual_hosts:
                - name: vh
                  domains: ["*"]
                  retry_policy: {retry_on: "5xx", num_retries: 4}
                  routes:
                  - {name: d, match: {prefix: "/d"}, route: {cluster: c}}
                  - name: t
                    match: {prefix: "/t"}
                    route: {cluster: c, timeout: 2.5s, idle_timeout: 60s, auto_host_rewrite: true,
                            retry_policy: {retry_on: "connect-failure"}}
                  - {name: z, match: {prefix: "/z"}, route: {cluster: c, timeout: 0s}}
                """);
        final RouteEntry d = t.route(get("h", "/d"));
        assertEquals(15000, d.timeoutMillis());
        assertEquals(0, d.idleTimeoutMillis());
        assertFalse(d.hasIdleTimeout(), "unset: the HCM's stream_idle_timeout applies");
        assertFalse(d.autoHostRewrite());
        assertEquals(4, d.retryPolicy().numRetries());
        assertTrue(d.retryPolicy().retryOn5xx());
        final RouteEntry e = t.route(get("h", "/t"));
        assertEquals(2500, e.timeoutMillis());
        assertEquals(60000, e.idleTimeoutMillis());
        assertTrue(e.hasIdleTimeout());
        assertTrue(e.autoHostRewrite());
        // The route's policy replaces the virtual host's entirely.
        assertEquals(1, e.retryPolicy().numRetries());
        assertFalse(e.retryPolicy().retryOn5xx());
        assertTrue(e.retryPolicy().retryOnConnectFailure());
        assertEquals(0, t.route(get("h", "/z")).timeoutMillis());
        final RouteEntry none = table("""
                virtual_hosts:
                - {name: vh, domains: ["*"], routes: [{match: {prefix: "/"}, route: {cluster: c}}]}
                """).route(get("h", "/"));
        assertSame(RetryPolicy.NONE, none.retryPolicy());
    }

    @Test
    void clusterHeader() {
        final RouteEntry e = table("""
                virtual_hosts:
                - {name: vh, domains: ["*"], routes: [{match: {prefix: "/"}, route: {cluster_header: X-Cluster}}]}
                """).route(get("h", "/"));
        assertEquals("", e.selectCluster(get("h", "/")));
        assertEquals("backend", e.selectCluster(with("/", "x-cluster", "backend")));
    }

    @Test
    void weightedClustersSplitStatistically() {
        final RouteEntry e = table("""
                virtual_hosts:
                - name: vh
                  domains: ["*"]
                  routes:
                  - match: {prefix: "/"}
                    route:
                      weighted_clusters:
                        clusters: [{name: a, weight: 10}, {name: b, weight: 30}, {name: c, weight: 60}, {name: z, weight: 0}]
                """).route(get("h", "/"));
        int a = 0;
        int b = 0;
        int c = 0;
        final HttpRequest r = get("h", "/");
        for (int i = 0; i < 10_000; i++) {
            switch (e.selectCluster(r)) {
                case "a": a++; break;
                case "b": b++; break;
                case "c": c++; break;
                default: throw new AssertionError("zero-weight cluster picked");
            }
        }
        // Expected 1000/3000/6000; bounds are > 6 standard deviations wide.
        assertTrue(a > 800 && a < 1200, "a=" + a);
        assertTrue(b > 2700 && b < 3300, "b=" + b);
        assertTrue(c > 5600 && c < 6400, "c=" + c);
    }

    @Test
    void weightedClustersHonourRandomValueHeader() {
        final RouteEntry e = table("""
                virtual_hosts:
                - name: vh
                  domains: ["*"]
                  routes:
                  - match: {prefix: "/"}
                    route:
                      weighted_clusters:
                        header_name: x-random
                        clusters: [{name: a, weight: 1}, {name: b, weight: 1}]
                """).route(get("h", "/"));
        assertEquals("a", e.selectCluster(with("/", "x-random", "10")));
        assertEquals("b", e.selectCluster(with("/", "x-random", "11")));
    }

    @Test
    void prefixRewriteKeepsQueryAndOriginalPath() {
        final RouteTable t = table("""
                virtual_hosts:
                - name: vh
                  domains: ["*"]
                  routes:
                  - match: {prefix: "/old/"}
                    route: {cluster: c, prefix_rewrite: "/new/", host_rewrite_literal: upstream.local}
                  - match: {path: "/exact"}
                    route: {cluster: c, prefix_rewrite: "/other"}
                  - match: {prefix: "/re/"}
                    route:
                      cluster: c
                      regex_rewrite: {pattern: {regex: "^/re/([^/]+)/(.*)$"}, substitution: "/\\\\2/\\\\1"}
                """);
        final HttpRequest r = get("front.example.com", "/old/a/b?x=1");
        t.route(r).transformRequest(r);
        assertEquals("/new/a/b?x=1", r.uri());
        assertEquals("/old/a/b?x=1", r.headers().get("x-envoy-original-path"));
        assertEquals("upstream.local", r.headers().get("host"));

        final HttpRequest p = get("h", "/exact?y");
        t.route(p).transformRequest(p);
        assertEquals("/other?y", p.uri());
        assertEquals("h", p.headers().get("host"));

        final HttpRequest g = get("h", "/re/a/b/c?q=$1");
        t.route(g).transformRequest(g);
        assertEquals("/b/c/a?q=$1", g.uri());
        assertEquals("/re/a/b/c?q=$1", g.headers().get("x-envoy-original-path"));
    }

    // ---- redirect and direct response

    private static final String REDIRECTS = """
            virtual_hosts:
            - name: vh
              domains: ["*"]
              routes:
              - {name: https, match: {prefix: "/https"}, redirect: {https_redirect: true}}
              - name: full
                match: {prefix: "/full"}
                redirect: {host_redirect: new.example.com, port_redirect: 8443, path_redirect: "/landing",
                           response_code: FOUND}
              - {name: pathq, match: {prefix: "/pathq"}, redirect: {path_redirect: "/p?own=1", strip_query: true}}
              - {name: strip, match: {prefix: "/strip"}, redirect: {prefix_rewrite: "/s", strip_query: true,
                                                                   response_code: PERMANENT_REDIRECT}}
              - {name: regex, match: {prefix: "/rx/"}, redirect: {regex_rewrite: {pattern: {regex: "^/rx/(.*)$"},
                                                                               substitution: "/\\\\1.html"}}}
              - {name: port, match: {prefix: "/port"}, redirect: {port_redirect: 9000}}
            """;

    private static String location(RouteTable t, HttpRequest r, int expectedStatus) {
        final RouteEntry e = t.route(r);
        assertEquals(RouteEntry.Kind.REDIRECT, e.kind());
        final var res = e.redirect(r);
        try {
            assertEquals(expectedStatus, res.status().code());
            assertEquals(0, res.content().readableBytes());
            return res.headers().get("location");
        } finally {
            res.release();
        }
    }

    @Test
    void redirects() {
        final RouteTable t = table(REDIRECTS);
        assertEquals("https://example.com/https/a?b=1", location(t, get("example.com", "/https/a?b=1"), 301));
        // The default port of the old scheme is dropped when the scheme changes.
        assertEquals("https://example.com/https", location(t, get("example.com:80", "/https"), 301));
        assertEquals("https://example.com:8080/https", location(t, get("example.com:8080", "/https"), 301));
        assertEquals("http://new.example.com:8443/landing?q=1", location(t, get("example.com", "/full?q=1"), 302));
        assertEquals("http://h/p?own=1", location(t, get("h", "/pathq?q=1"), 301));
        assertEquals("http://h/s/x", location(t, get("h", "/strip/x?q=1"), 308));
        assertEquals("http://h/a/b.html?v=2", location(t, get("h", "/rx/a/b?v=2"), 301));
        assertEquals("http://h:9000/port", location(t, get("h:8080", "/port"), 301));
        final HttpRequest fwd = get("h", "/port");
        fwd.headers().set("x-forwarded-proto", "https");
        assertEquals("https://h:9000/port", location(t, fwd, 301));
    }

    @Test
    void directResponse() {
        final RouteTable t = table("""
                virtual_hosts:
                - name: vh
                  domains: ["*"]
                  routes:
                  - {name: ok, match: {path: "/health"}, direct_response: {status: 200, body: {inline_string: "ok\\n"}}}
                  - {name: gone, match: {prefix: "/"}, direct_response: {status: 410}}
                """);
        final RouteEntry ok = t.route(get("h", "/health"));
        assertEquals(RouteEntry.Kind.DIRECT_RESPONSE, ok.kind());
        assertEquals(200, ok.directStatus());
        assertEquals("ok\n", ok.directBody());
        final RouteEntry gone = t.route(get("h", "/x"));
        assertEquals(410, gone.directStatus());
        assertEquals("", gone.directBody());
        assertThrows(IllegalStateException.class, () -> gone.selectCluster(get("h", "/x")));
    }

    // ---- config errors

    private static String error(String yaml) {
        return assertThrows(ConfigException.class, () -> RouteTable.create(parse(yaml))).getMessage();
    }

    private static String oneRoute(String route) {
        return "virtual_hosts:\n- name: vh\n  domains: [\"*\"]\n  routes:\n  - " + route + "\n";
    }

    @Test
    void configErrorsNameTheFieldPath() {
        final List<String[]> cases = List.of(
                new String[] { "{match: {safe_regex: {regex: \"(\"}}, route: {cluster: c}}",
                               "virtual_hosts[0].routes[0].match.safe_regex.regex: ( (expected: a valid regular" },
                new String[] { "{match: {prefix: \"/\"}}",
                               "virtual_hosts[0].routes[0].action: ACTION_NOT_SET (expected: exactly one of" },
                new String[] { "{match: {}, route: {cluster: c}}",
                               "virtual_hosts[0].routes[0].match.path_specifier: null (expected:" },
                new String[] { "{match: {prefix: \"/\", runtime_fraction: {runtime_key: k}}, route: {cluster: c}}",
                               "virtual_hosts[0].routes[0].match.runtime_fraction: k (expected: unset" },
                new String[] { "{match: {prefix: \"/\", grpc: {}}, route: {cluster: c}}",
                               "virtual_hosts[0].routes[0].match.grpc: {} (expected: unset" },
                new String[] { "{match: {prefix: \"/\", headers: [{name: x, string_match: {safe_regex: {regex: \"[\"}}}]},"
                               + " route: {cluster: c}}",
                               "virtual_hosts[0].routes[0].match.headers[0].string_match.safe_regex.regex: [ (expected:" },
                new String[] { "{match: {prefix: \"/\", headers: [{name: x, string_match: {prefix: \"\"}}]}, route: {cluster: c}}",
                               "virtual_hosts[0].routes[0].match.headers[0].string_match.prefix: \"\" (expected: non-empty)" },
                new String[] { "{match: {prefix: \"/\", query_parameters: [{name: q, string_match: {suffix: \"\"}}]},"
                               + " route: {cluster: c}}",
                               "virtual_hosts[0].routes[0].match.query_parameters[0].string_match.suffix: \"\" (expected: non-empty)" },
                new String[] { "{match: {path_separated_prefix: \"/a/\"}, route: {cluster: c}}",
                               "virtual_hosts[0].routes[0].match.path_separated_prefix: /a/ (expected:" },
                new String[] { "{match: {prefix: \"/\"}, route: {weighted_clusters: {clusters: [{name: a, weight: 0}]}}}",
                               "virtual_hosts[0].routes[0].route.weighted_clusters.clusters: total weight 0 (expected: > 0)" },
                new String[] { "{match: {prefix: \"/\"}, route: {weighted_clusters: {total_weight: 10,"
                               + " clusters: [{name: a, weight: 3}]}}}",
                               "virtual_hosts[0].routes[0].route.weighted_clusters.total_weight: 10 (expected: the sum" },
                new String[] { "{match: {prefix: \"/\"}, route: {}}",
                               "virtual_hosts[0].routes[0].route.cluster_specifier: CLUSTERSPECIFIER_NOT_SET" },
                new String[] { "{match: {prefix: \"/\"}, route: {cluster: c, retry_policy: {retry_on: \"5xx,bogus\"}}}",
                               "virtual_hosts[0].routes[0].route.retry_policy.retry_on: 5xx,bogus (expected:" },
                new String[] { "{match: {prefix: \"/\"}, route: {cluster: c, prefix_rewrite: \"/a\","
                               + " regex_rewrite: {pattern: {regex: \"a\"}, substitution: b}}}",
                               "virtual_hosts[0].routes[0].route.regex_rewrite: a (expected: not set together" },
                new String[] { "{match: {safe_regex: {regex: \"/a\"}}, route: {cluster: c, prefix_rewrite: \"/b\"}}",
                               "virtual_hosts[0].routes[0].route.prefix_rewrite: /b (expected: not used with a safe_regex" },
                new String[] { "{match: {prefix: \"/\"}, route: {cluster: c, regex_rewrite: {pattern: {regex: \"(a)\"},"
                               + " substitution: \"\\\\2\"}}}",
                               "virtual_hosts[0].routes[0].route.regex_rewrite.substitution: \\2 (expected:" },
                new String[] { "{match: {prefix: \"/\"}, route: {cluster: c}, request_headers_to_add: [{header: {key: host,"
                               + " value: x}}]}",
                               "virtual_hosts[0].routes[0].request_headers_to_add[0].header.key: \"host\" (expected:" },
                new String[] { "{match: {prefix: \"/\"}, route: {cluster: c}, request_headers_to_add: [{header: {key: a,"
                               + " value: \"%REQ(x)%\"}}]}",
                               "virtual_hosts[0].routes[0].request_headers_to_add[0].header.value: %REQ(x)% (expected:" },
                new String[] { "{match: {prefix: \"/\"}, route: {cluster: c}, response_headers_to_remove: [\":status\"]}",
                               "virtual_hosts[0].routes[0].response_headers_to_remove[0]: \":status\" (expected:" },
                new String[] { "{match: {prefix: \"/\"}, direct_response: {status: 99}}",
                               "virtual_hosts[0].routes[0].direct_response.status: 99 (expected: in [200, 599])" },
                new String[] { "{match: {prefix: \"/\"}, route: {cluster: c, hash_policy: [{header: {header_name: \"\"}}]}}",
                               "virtual_hosts[0].routes[0].route.hash_policy[0].header.header_name: \"\" (expected:" });
        for (String[] c : cases) {
            final String message = error(oneRoute(c[0]));
            assertTrue(message.startsWith(c[1]), () -> c[0] + "\n  got: " + message + "\n  want: " + c[1]);
        }
    }

    @Test
    void virtualHostErrors() {
        assertTrue(error("virtual_hosts: [{name: \"\", domains: [a]}]")
                           .startsWith("virtual_hosts[0].name: \"\" (expected: non-empty)"));
        assertTrue(error("virtual_hosts: [{name: a, domains: []}]")
                           .startsWith("virtual_hosts[0].domains: [] (expected:"));
        assertTrue(error("virtual_hosts: [{name: a, domains: [a]}, {name: a, domains: [b]}]")
                           .startsWith("virtual_hosts[1].name: a (expected: unique"));
        assertTrue(error("virtual_hosts: [{name: a, domains: [a], retry_policy: {retry_back_off: {base_interval: 1s,"
                         + " max_interval: 0.5s}}}]")
                           .startsWith("virtual_hosts[0].retry_policy.retry_back_off.max_interval: 500ms (expected:"));
        assertTrue(error("request_headers_to_remove: [\"\"]")
                           .startsWith("request_headers_to_remove[0]: \"\" (expected:"));
    }
}
