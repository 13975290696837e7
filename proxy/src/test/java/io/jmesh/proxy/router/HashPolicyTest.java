package io.jmesh.proxy.router;

import io.jmesh.proxy.internal.XxHash64;
import static io.jmesh.proxy.router.RouteConfigs.get;
import static io.jmesh.proxy.router.RouteConfigs.table;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.net.InetSocketAddress;
import java.util.OptionalLong;

import org.junit.jupiter.api.Test;

import io.netty.handler.codec.http.HttpRequest;

class HashPolicyTest {

    private static final String CONFIG = """
            virtual_hosts:
            - name: vh
              domains: ["*"]
              routes:
              - match: {prefix: "/header"}
                route: {cluster: c, hash_policy: [{header: {header_name: x-user}}]}
              - match: {prefix: "/cookie"}
                route: {cluster: c, hash_policy: [{cookie: {name: session, ttl: 10s}}]}
              - match: {prefix: "/ip"}
                route: {cluster: c, hash_policy: [{connection_properties: {source_ip: true}}]}
              - match: {prefix: "/query"}
                route: {cluster: c, hash_policy: [{query_parameter: {name: id}}]}
              - match: {prefix: "/terminal"}
                route:
                  cluster: c
                  hash_policy:
                  - {header: {header_name: x-user}, terminal: true}
                  - {connection_properties: {source_ip: true}}
              - match: {prefix: "/both"}
                route:
                  cluster: c
                  hash_policy:
                  - {header: {header_name: x-user}}
                  - {connection_properties: {source_ip: true}}
              - match: {prefix: "/rewrite"}
                route:
                  cluster: c
                  hash_policy:
                  - header:
                      header_name: ":path"
                      regex_rewrite: {pattern: {regex: "\\\\?.*$"}, substitution: ""}
              - match: {prefix: "/"}
                route: {cluster: c}
            """;

    private static final InetSocketAddress CLIENT_1 = new InetSocketAddress("10.0.0.1", 4000);
    private static final InetSocketAddress CLIENT_2 = new InetSocketAddress("10.0.0.2", 4000);

    private static OptionalLong hash(RouteTable t, HttpRequest r, InetSocketAddress remote) {
        return t.route(r).hash(r, remote);
    }

    private static HttpRequest req(String path, String name, String value) {
        final HttpRequest r = get("h", path);
        if (name != null) {
            r.headers().add(name, value);
        }
        return r;
    }

    @Test
    void headerHashIsStableAndXxHash64() {
        final RouteTable t = table(CONFIG);
        final OptionalLong h1 = hash(t, req("/header", "x-user", "alice"), CLIENT_1);
        assertEquals(OptionalLong.of(XxHash64.hash("alice", 0)), h1);
        assertEquals(h1, hash(t, req("/header", "x-user", "alice"), CLIENT_2));
        assertNotEquals(h1, hash(t, req("/header", "x-user", "bob"), CLIENT_1));
        assertFalse(hash(t, req("/header", null, null), CLIENT_1).isPresent());
        // Multiple values are sorted first, so their order does not matter.
        final HttpRequest ab = req("/header", "x-user", "a");
        ab.headers().add("x-user", "b");
        final HttpRequest ba = req("/header", "x-user", "b");
        ba.headers().add("x-user", "a");
        assertEquals(hash(t, ab, CLIENT_1), hash(t, ba, CLIENT_1));
    }

    @Test
    void cookieSourceIpAndQueryParameter() {
        final RouteTable t = table(CONFIG);
        assertEquals(OptionalLong.of(XxHash64.hash("s1", 0)),
                     hash(t, req("/cookie", "cookie", "a=b; session=s1; c=d"), CLIENT_1));
        // No cookie is generated: no hash.
        assertFalse(hash(t, req("/cookie", "cookie", "sessionx=1"), CLIENT_1).isPresent());
        assertEquals(OptionalLong.of(XxHash64.hash("10.0.0.1", 0)), hash(t, req("/ip", null, null), CLIENT_1));
        assertNotEquals(hash(t, req("/ip", null, null), CLIENT_1), hash(t, req("/ip", null, null), CLIENT_2));
        assertFalse(hash(t, req("/ip", null, null), null).isPresent());
        assertEquals(OptionalLong.of(XxHash64.hash("42", 0)), hash(t, req("/query?x=1&id=42&id=43", null, null), CLIENT_1));
        assertFalse(hash(t, req("/query?x=1", null, null), CLIENT_1).isPresent());
        assertFalse(hash(t, req("/none", "x-user", "alice"), CLIENT_1).isPresent());
    }

    @Test
    void terminalStopsAndCombinationRotates() {
        final RouteTable t = table(CONFIG);
        final long alice = XxHash64.hash("alice", 0);
        final long ip = XxHash64.hash("10.0.0.1", 0);
        assertEquals(OptionalLong.of(alice), hash(t, req("/terminal", "x-user", "alice"), CLIENT_1));
        // The terminal policy produced nothing: evaluation goes on.
        assertEquals(OptionalLong.of(ip), hash(t, req("/terminal", null, null), CLIENT_1));
        assertEquals(OptionalLong.of(Long.rotateLeft(alice, 1) ^ ip), hash(t, req("/both", "x-user", "alice"), CLIENT_1));
    }

    @Test
    void headerRegexRewrite() {
        final RouteTable t = table(CONFIG);
        assertEquals(hash(t, req("/rewrite/a?x=1", null, null), CLIENT_1),
                     hash(t, req("/rewrite/a?y=2", null, null), CLIENT_2));
        assertEquals(OptionalLong.of(XxHash64.hash("/rewrite/a", 0)), hash(t, req("/rewrite/a?x=1", null, null), CLIENT_1));
    }
}
