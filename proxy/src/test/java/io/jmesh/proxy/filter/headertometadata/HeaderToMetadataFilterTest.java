package io.jmesh.proxy.filter.headertometadata;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Base64;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.protobuf.Value;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.testing.AccessLogFiles;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/**
 * {@code envoy.filters.http.header_to_metadata} through a real proxy with curl: what it writes is read back from the
 * access log ({@code %DYNAMIC_METADATA%}) and by an RBAC metadata matcher.
 */
class HeaderToMetadataFilterTest {

    private static final String NAME = "envoy.filters.http.header_to_metadata";
    private static final String TYPE = "envoy.extensions.filters.http.header_to_metadata.v3.Config";
    private static final String NS = "envoy.filters.http.header_to_metadata";

    private static final String RULES = "request_rules: ["
            + " { header: x-tier, on_header_present: { key: tier }, on_header_missing: { key: tier, value: none },"
            + "   remove: true },"
            + " { header: x-version, on_header_present: { metadata_namespace: app, key: version, type: NUMBER } },"
            + " { cookie: session, on_header_present: { metadata_namespace: app, key: session } },"
            + " { header: x-user, on_header_present: { key: user,"
            + "   regex_value_rewrite: { pattern: { regex: \"^user-(.*)$\" }, substitution: \"\\\\1\" } } },"
            + " { header: x-pb, on_header_present: { key: pb, type: PROTOBUF_VALUE, encode: BASE64 } } ],"
            + " response_rules: [ { header: x-backend, on_header_present: { metadata_namespace: resp, key: backend } } ]";

    private static final String FORMAT = "%DYNAMIC_METADATA(" + NS + ":tier)% %DYNAMIC_METADATA(app:version)%"
            + " %DYNAMIC_METADATA(app:session)% %DYNAMIC_METADATA(" + NS + ":user)% %DYNAMIC_METADATA(" + NS + ":pb)%"
            + " %DYNAMIC_METADATA(resp:backend)%";

    @Test
    void headersAndCookiesBecomeDynamicMetadata(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("access.log");
        String pb = Base64.getEncoder().encodeToString(Value.newBuilder().setBoolValue(true).build().toByteArray());
        try (TestBackend backend = TestBackend.start("b1");
             ProxyFixture proxy = Bootstraps.http()
                     .accessLog(log, FORMAT)
                     .httpFilter(NAME, Bootstraps.typed(TYPE, RULES))
                     .route("/", "backend")
                     .cluster("backend", backend.port())
                     .start(2)) {
            Curl.Result r = Curl.run("-H", "x-tier: gold", "-H", "x-version: 2.5", "-H", "Cookie: a=1; session=s42",
                    "-H", "x-user: user-ann", "-H", "x-pb: " + pb, proxy.url("/a"));
            assertEquals(200, r.status);
            assertFalse(r.body.contains("header x-tier="), "remove: the header does not go upstream: " + r.body);
            assertTrue(r.body.contains("header x-version=2.5"), r.body);

            assertEquals(200, Curl.run("-H", "x-version: not-a-number", proxy.url("/b")).status);
            assertEquals(List.of("gold 2.5 s42 ann true b1", "none - - - - b1"), AccessLogFiles.awaitLines(log, 2));
        }
    }

    @Test
    void rbacReadsTheMetadata() throws Exception {
        String rbac = Bootstraps.typed("envoy.extensions.filters.http.rbac.v3.RBAC", "rules: { action: ALLOW,"
                + " policies: { gold: { permissions: [{ any: true }], principals: [{ metadata: { filter: " + NS + ","
                + " path: [{ key: tier }], value: { string_match: { exact: gold } } } }] } } }");
        try (TestBackend backend = TestBackend.start("b1");
             ProxyFixture proxy = Bootstraps.http()
                     .httpFilter(NAME, Bootstraps.typed(TYPE, RULES))
                     .httpFilter("envoy.filters.http.rbac", rbac)
                     .route("/", "backend")
                     .cluster("backend", backend.port())
                     .start(2)) {
            assertEquals(200, Curl.run("-H", "x-tier: gold", proxy.url("/a")).status);
            assertEquals(403, Curl.run("-H", "x-tier: silver", proxy.url("/a")).status);
            assertEquals(403, Curl.run(proxy.url("/a")).status);
        }
    }

    @Test
    void perRouteConfigReplacesTheRules(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("access.log");
        try (TestBackend backend = TestBackend.start("b1");
             ProxyFixture proxy = Bootstraps.http()
                     .accessLog(log, "%DYNAMIC_METADATA(" + NS + ")%")
                     .httpFilter(NAME, Bootstraps.typed(TYPE, RULES))
                     .route("/other", "backend", NAME, Bootstraps.typed(TYPE,
                             "request_rules: [ { header: x-other, on_header_present: { key: other } } ]"))
                     .route("/", "backend")
                     .cluster("backend", backend.port())
                     .start(2)) {
            assertEquals(200, Curl.run("-H", "x-other: o", "-H", "x-tier: gold", proxy.url("/other")).status);
            assertEquals(List.of("{\"other\":\"o\"}"), AccessLogFiles.awaitLines(log, 1));
        }
    }

    @Test
    void badRulesNameTheField() throws Exception {
        assertConfigError("request_rules: [ { header: a, cookie: b, on_header_present: { key: k } } ]",
                "request_rules[0]: header and cookie (expected: one of header or cookie)");
        assertConfigError("request_rules: [ { header: a } ]",
                "request_rules[0]: (expected: on_header_present or on_header_missing, at least one)");
        assertConfigError("request_rules: [ { header: a, on_header_missing: { key: k } } ]",
                "request_rules[0].on_header_missing.value: \"\"");
        assertConfigError("response_rules: [ { cookie: c, remove: true, on_header_present: { key: k } } ]",
                "response_rules[0].remove: true");
        assertConfigError("request_rules: [ { header: a, on_header_present: { key: \"\" } } ]",
                "request_rules[0].on_header_present.key: \"\"");
        assertConfigError("request_rules: [ { header: a, on_header_present: { key: k, regex_value_rewrite:"
                + " { pattern: { regex: \"(\" }, substitution: x } } } ]",
                "request_rules[0].on_header_present.regex_value_rewrite.pattern.regex: (");
        assertConfigError("request_rules: []", "request_rules: [] (expected: request_rules or response_rules");
    }

    private static void assertConfigError(String fields, String expected) throws Exception {
        try (TestBackend backend = TestBackend.start("b1")) {
            ConfigException e = assertThrows(ConfigException.class, () -> Bootstraps.http()
                    .httpFilter(NAME, Bootstraps.typed(TYPE, fields)).route("/", "backend")
                    .cluster("backend", backend.port()).start(1).close());
            assertTrue(e.getMessage().contains("http_filters[0].typed_config." + expected), e.getMessage());
        }
    }
}
