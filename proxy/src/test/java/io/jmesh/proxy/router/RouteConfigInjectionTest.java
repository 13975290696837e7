package io.jmesh.proxy.router;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.config.ConfigException;

/**
 * What the proxy adds or copies from routes into requests and responses is refused at config load when it
 * could start a new line (CR, LF, NUL) or break a request line or {@code location} (space, controls): the
 * error names the field.
 */
class RouteConfigInjectionTest {

    private static void assertRefused(String routeYaml, String fieldPath) {
        String yaml = """
                virtual_hosts:
                - name: vh
                  domains: ["*"]
                  routes:
                  - %s
                """.formatted(routeYaml);
        ConfigException e = assertThrows(ConfigException.class,
                () -> RouteTable.create(RouteConfigs.parse(yaml)));
        assertTrue(e.getMessage().contains(fieldPath), e.getMessage());
    }

    @Test
    void headerValueWithCrLf() {
        assertRefused("""
                {match: {prefix: "/"}, route: {cluster: c},
                     request_headers_to_add: [{header: {key: x-a, value: "a\\r\\nx-injected: 1"}}]}""",
                "request_headers_to_add[0].header.value");
    }

    @Test
    void responseHeaderValueWithLf() {
        assertRefused("""
                {match: {prefix: "/"}, route: {cluster: c},
                     response_headers_to_add: [{header: {key: x-a, value: "a\\nset-cookie: x"}}]}""",
                "response_headers_to_add[0].header.value");
    }

    @Test
    void headerNameWithCrLf() {
        assertRefused("""
                {match: {prefix: "/"}, route: {cluster: c},
                     request_headers_to_add: [{header: {key: "x-a\\r\\nx-injected", value: "1"}}]}""",
                "request_headers_to_add[0].header");
    }

    @Test
    void headerNameThatIsNotAToken() {
        assertRefused("""
                {match: {prefix: "/"}, route: {cluster: c},
                     request_headers_to_add: [{header: {key: "x(a)", value: "1"}}]}""",
                "request_headers_to_add[0].header");
    }

    @Test
    void hostRewriteLiteralWithCrLf() {
        assertRefused("{match: {prefix: \"/\"}, route: {cluster: c, host_rewrite_literal: \"a\\r\\nx-injected: 1\"}}",
                "route.host_rewrite_literal");
    }

    @Test
    void prefixRewriteWithSpace() {
        assertRefused("{match: {prefix: \"/\"}, route: {cluster: c, prefix_rewrite: \"/ HTTP/1.1\\r\\nx: \"}}",
                "route.prefix_rewrite");
    }

    @Test
    void redirectPathWithCrLf() {
        assertRefused("{match: {prefix: \"/\"}, redirect: {path_redirect: \"/a\\r\\nset-cookie: x=1\"}}",
                "redirect.path_redirect");
    }

    @Test
    void redirectHostWithCrLf() {
        assertRefused("{match: {prefix: \"/\"}, redirect: {host_redirect: \"a\\r\\nset-cookie: x=1\"}}",
                "redirect.host_redirect");
    }
}
