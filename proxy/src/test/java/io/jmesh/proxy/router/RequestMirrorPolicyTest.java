package io.jmesh.proxy.router;

import static io.jmesh.proxy.router.RouteConfigs.get;
import static io.jmesh.proxy.router.RouteConfigs.parse;
import static io.jmesh.proxy.router.RouteConfigs.table;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.config.ConfigException;
import io.netty.handler.codec.http.HttpRequest;

/** {@code RouteAction.request_mirror_policies}: parsing, sampling, the shadow Host, rejected fields. */
class RequestMirrorPolicyTest {

    private static final String ROUTES = """
            virtual_hosts:
            - name: vh
              domains: ["*"]
              routes:
              - match: { prefix: /static }
                route:
                  cluster: main
                  request_mirror_policies:
                  - cluster: mirror
                  - cluster: other
                    disable_shadow_host_suffix_append: true
                    runtime_fraction: { default_value: { numerator: 0 } }
              - match: { prefix: /header }
                route:
                  cluster: main
                  request_mirror_policies:
                  - cluster_header: X-Mirror-Cluster
              - match: { prefix: /capped }
                route:
                  cluster: main
                  request_mirror_policies:
                  - cluster: mirror
                    runtime_fraction: { default_value: { numerator: 200, denominator: HUNDRED } }
              - match: { prefix: / }
                route: { cluster: main }
            """;

    @Test
    void parsesPoliciesInOrder() {
        final RouteTable t = table(ROUTES);
        final List<RequestMirrorPolicy> p = t.route(get("h", "/static")).mirrorPolicies();
        assertEquals(2, p.size());
        final HttpRequest req = get("reviews:9080", "/static");
        assertEquals("mirror", p.get(0).cluster(req));
        assertEquals("other", p.get(1).cluster(req));
        assertEquals("reviews-shadow:9080", p.get(0).shadowHost("reviews:9080"));
        assertEquals("reviews:9080", p.get(1).shadowHost("reviews:9080"), "disable_shadow_host_suffix_append");
        assertTrue(p.get(0).sampled(), "no runtime_fraction mirrors every request");
        for (int i = 0; i < 1000; i++) {
            assertFalse(p.get(1).sampled(), "0% never mirrors");
        }
        final RequestMirrorPolicy capped = t.route(get("h", "/capped")).mirrorPolicies().get(0);
        for (int i = 0; i < 1000; i++) {
            assertTrue(capped.sampled(), "a numerator above the denominator is 100%");
        }
    }

    @Test
    void routesWithoutPoliciesShareTheEmptyList() {
        assertSame(List.of(), table(ROUTES).route(get("h", "/plain")).mirrorPolicies());
    }

    @Test
    void clusterHeader() {
        final RequestMirrorPolicy p = table(ROUTES).route(get("h", "/header")).mirrorPolicies().get(0);
        final HttpRequest req = get("h", "/header");
        assertNull(p.cluster(req), "no header, no mirror");
        req.headers().set("x-mirror-cluster", "shadow-cluster");
        assertEquals("shadow-cluster", p.cluster(req));
    }

    @Test
    void shadowHostKeepsThePortAsEnvoy() {
        final RequestMirrorPolicy p = table(ROUTES).route(get("h", "/static")).mirrorPolicies().get(0);
        assertEquals("reviews-shadow", p.shadowHost("reviews"));
        assertEquals("reviews-shadow:9080", p.shadowHost("reviews:9080"));
        assertEquals("10.0.0.1-shadow:80", p.shadowHost("10.0.0.1:80"));
        assertEquals("[::1]-shadow:80", p.shadowHost("[::1]:80"));
        assertEquals("[::1]-shadow", p.shadowHost("[::1]"));
        assertEquals("", p.shadowHost(""));
    }

    @Test
    void rejectsUnsupportedAndInvalidFields() {
        assertEquals("virtual_hosts[0].routes[0].route.request_mirror_policies[0].trace_sampled: false"
                     + " (expected: unset; jmesh does not sample shadows apart)", error("{ cluster: m, trace_sampled: false }"));
        assertEquals("virtual_hosts[0].routes[0].route.request_mirror_policies[0].cluster: m"
                     + " (expected: exactly one of cluster and cluster_header)", error("{ cluster: m, cluster_header: x-m }"));
        assertEquals("virtual_hosts[0].routes[0].route.request_mirror_policies[0].cluster: \"\""
                     + " (expected: exactly one of cluster and cluster_header)", error("{ disable_shadow_host_suffix_append: true }"));
    }

    private static String error(String policy) {
        final String yaml = """
                virtual_hosts:
                - name: vh
                  domains: ["*"]
                  routes:
                  - match: { prefix: / }
                    route:
                      cluster: main
                      request_mirror_policies:
                      - POLICY
                """.replace("POLICY", policy);
        return assertThrows(ConfigException.class, () -> RouteTable.create(parse(yaml))).getMessage();
    }
}
