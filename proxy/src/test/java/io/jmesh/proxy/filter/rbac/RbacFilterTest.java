package io.jmesh.proxy.filter.rbac;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.testing.AccessLogFiles;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.testing.TestCertificates;

/** {@code envoy.filters.http.rbac} through a real proxy with curl: enforce, shadow, per route, mTLS principals. */
class RbacFilterTest {

    static final String RBAC = "envoy.filters.http.rbac";

    static String rbac(String fields) {
        return Bootstraps.typed("envoy.extensions.filters.http.rbac.v3.RBAC", fields);
    }

    static String perRoute(String fields) {
        return Bootstraps.typed("envoy.extensions.filters.http.rbac.v3.RBACPerRoute", fields);
    }

    /** ALLOW: GET under /public, or anything carrying {@code x-role: admin}. */
    static final String ALLOW_PUBLIC = "rules: { action: ALLOW, policies: {"
            + " \"public-get\": { permissions: [{ and_rules: { rules: ["
            + "   { url_path: { path: { prefix: /public } } },"
            + "   { header: { name: \":method\", string_match: { exact: GET } } } ] } }],"
            + "   principals: [{ any: true }] },"
            + " \"admin\": { permissions: [{ any: true }],"
            + "   principals: [{ header: { name: x-role, string_match: { exact: admin } } }] } } }";

    @Test
    void allowPolicyLetsMatchingRequestsThroughAndAnswersOthers403(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("access.log");
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.http()
                     .accessLog(log, "%RESPONSE_CODE% %RESPONSE_CODE_DETAILS% %REQ(:PATH)%")
                     .httpFilter(RBAC, rbac(ALLOW_PUBLIC))
                     .route("/", "backend")
                     .cluster("backend", backend.port())
                     .start(2)) {
            assertEquals(200, Curl.run(proxy.url("/public/a?x=1")).status);
            Curl.Result denied = Curl.run(proxy.url("/private"));
            assertEquals(403, denied.status);
            assertEquals("RBAC: access denied", denied.body);
            assertEquals(403, Curl.run("-X", "POST", "-d", "x", proxy.url("/public/a")).status);
            assertEquals(200, Curl.run("-H", "x-role: admin", proxy.url("/private")).status);
            assertEquals(List.of("200 via_upstream /public/a?x=1", "403 rbac_access_denied_matched_policy[none] /private",
                            "403 rbac_access_denied_matched_policy[none] /public/a", "200 via_upstream /private"),
                    AccessLogFiles.awaitLines(log, 4));
            assertNull(backend.byPath.get("/private/x"));
            assertEquals(1, backend.byPath.get("/private").get(), "only the admin's request reached the backend");
            assertEquals(2, proxy.counter("http.ingress.rbac.allowed"));
            assertEquals(2, proxy.counter("http.ingress.rbac.denied"));
        }
    }

    @Test
    void denyPolicyNamesTheMatchedPolicyAndGrpcGetsPermissionDenied(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("access.log");
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.http()
                     .accessLog(log, "%RESPONSE_CODE% %RESPONSE_CODE_DETAILS%")
                     .httpFilter(RBAC, rbac("rules: { action: DENY, policies: {"
                             + " \"ns[foo]-policy[deny evil]-rule[0]\": { permissions: [{ header: { name: x-evil,"
                             + " present_match: true } }], principals: [{ any: true }] } } }"))
                     .route("/", "backend")
                     .cluster("backend", backend.port())
                     .start(2)) {
            assertEquals(200, Curl.run(proxy.url("/")).status);
            assertEquals(403, Curl.run("-H", "x-evil: 1", proxy.url("/")).status);
            Curl.Result grpc = Curl.run("-H", "x-evil: 1", "-H", "content-type: application/grpc", "-X", "POST",
                    proxy.url("/pkg.Svc/M"));
            assertEquals(200, grpc.status);
            assertEquals("7", grpc.header("grpc-status"));
            assertEquals(List.of("200 via_upstream", "403 rbac_access_denied_matched_policy[ns[foo]-policy[deny_evil]-rule[0]]",
                    "200 rbac_access_denied_matched_policy[ns[foo]-policy[deny_evil]-rule[0]]"),
                    AccessLogFiles.awaitLines(log, 3));
        }
    }

    @Test
    void shadowRulesCountAndRecordWithoutDenying(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("access.log");
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.http()
                     .accessLog(log, "%RESPONSE_CODE% %DYNAMIC_METADATA(envoy.filters.http.rbac:istio_dry_run_allow_"
                             + "shadow_engine_result)% %DYNAMIC_METADATA(envoy.filters.http.rbac:istio_dry_run_allow_"
                             + "shadow_effective_policy_id)%")
                     .httpFilter(RBAC, rbac("shadow_rules_stat_prefix: istio_dry_run_allow_, shadow_rules: {"
                             + " action: ALLOW, policies: { \"only-get\": { permissions: [{ header: { name: \":method\","
                             + " string_match: { exact: GET } } }], principals: [{ any: true }] } } }"))
                     .route("/", "backend")
                     .cluster("backend", backend.port())
                     .start(2)) {
            assertEquals(200, Curl.run(proxy.url("/")).status);
            assertEquals(200, Curl.run("-X", "DELETE", proxy.url("/")).status, "shadow rules never deny");
            assertEquals(List.of("200 allowed only-get", "200 denied -"), AccessLogFiles.awaitLines(log, 2));
            assertEquals(1, proxy.counter("http.ingress.rbac.istio_dry_run_allow_shadow_allowed"));
            assertEquals(1, proxy.counter("http.ingress.rbac.istio_dry_run_allow_shadow_denied"));
            assertEquals(0, proxy.counter("http.ingress.rbac.denied"));
        }
    }

    @Test
    void perRouteConfigReplacesOrDisablesTheFilters(@TempDir Path dir) throws Exception {
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.http()
                     .httpFilter(RBAC, rbac("rules: { action: ALLOW }")) // no policy: everything denied
                     .route("/open", "backend", RBAC, perRoute(""))
                     .route("/get-only", "backend", RBAC, perRoute("rbac: { rules: { action: ALLOW, policies: {"
                             + " get: { permissions: [{ header: { name: \":method\", string_match: { exact: GET } } }],"
                             + " principals: [{ any: true }] } } } }"))
                     .route("/", "backend")
                     .cluster("backend", backend.port())
                     .start(2)) {
            assertEquals(403, Curl.run(proxy.url("/")).status);
            assertEquals(200, Curl.run(proxy.url("/open")).status);
            assertEquals(200, Curl.run(proxy.url("/get-only")).status);
            assertEquals(403, Curl.run("-X", "PUT", proxy.url("/get-only")).status);
        }
    }

    @Test
    void authenticatedPrincipalComesFromTheClientCertificate(@TempDir Path dir) throws Exception {
        TestCertificates ca = TestCertificates.create(dir);
        TestCertificates.Issued server = ca.issue("server", "spiffe://cluster.local/ns/default/sa/server");
        TestCertificates.Issued sleep = ca.issue("sleep", "spiffe://cluster.local/ns/default/sa/sleep");
        TestCertificates.Issued other = ca.issue("other", "spiffe://cluster.local/ns/other/sa/curl");
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.http()
                     .downstreamTlsContext("require_client_certificate: true, common_tls_context: { tls_certificates: [{"
                             + " certificate_chain: { filename: \"" + server.certificateChain() + "\" }, private_key:"
                             + " { filename: \"" + server.privateKey() + "\" } }], validation_context: { trusted_ca:"
                             + " { filename: \"" + ca.caCertificate() + "\" } } }")
                     .httpFilter(RBAC, rbac("rules: { action: ALLOW, policies: { \"ns[default]-policy[sleep]-rule[0]\": {"
                             + " permissions: [{ any: true }], principals: [{ authenticated: { principal_name:"
                             + " { exact: \"spiffe://cluster.local/ns/default/sa/sleep\" } } }, { authenticated:"
                             + " { principal_name: { safe_regex: { regex: \".*/ns/admin/.*\" } } } }] } } }"))
                     .route("/", "backend")
                     .cluster("backend", backend.port())
                     .start(2)) {
            String url = "https://127.0.0.1:" + proxy.port() + "/hello";
            Curl.Result ok = Curl.run("-k", "--cert", sleep.certificateChain().toString(), "--key",
                    sleep.privateKey().toString(), url);
            assertEquals(200, ok.status, ok.toString());
            Curl.Result no = Curl.run("-k", "--cert", other.certificateChain().toString(), "--key",
                    other.privateKey().toString(), url);
            assertEquals(403, no.status, no.toString());
            assertEquals("RBAC: access denied", no.body);
        }
    }

    @Test
    void badConfigIsRefusedNamingTheField(@TempDir Path dir) {
        ConfigException regex = assertThrows(ConfigException.class, () -> Bootstraps.http()
                .httpFilter(RBAC, rbac("rules: { policies: { p: { permissions: [{ url_path: { path: { safe_regex:"
                        + " { regex: \"(\" } } } }], principals: [{ any: true }] } } }"))
                .route("/", "backend").cluster("backend", 1).start(1).close());
        assertTrue(regex.getMessage().contains("typed_config.rules.policies[\"p\"].permissions[0].url_path.path"
                + ".safe_regex.regex: ("), regex.getMessage());
        ConfigException cel = assertThrows(ConfigException.class, () -> Bootstraps.http()
                .httpFilter(RBAC, rbac("rules: { policies: { p: { permissions: [{ any: true }], principals: [{ any:"
                        + " true }], condition: { const_expr: { bool_value: true } } } } }"))
                .route("/", "backend").cluster("backend", 1).start(1).close());
        assertTrue(cel.getMessage().contains("rules.policies[\"p\"].condition: (expected: unset; CEL conditions are not"
                + " supported)"), cel.getMessage());
        ConfigException route = assertThrows(ConfigException.class, () -> Bootstraps.http()
                .httpFilter(RBAC, rbac(""))
                .route("/", "backend", RBAC, perRoute("rbac: { rules: { policies: { p: { permissions: [],"
                        + " principals: [{ any: true }] } } } }"))
                .cluster("backend", 1).start(1).close());
        assertTrue(route.getMessage().contains("rules.policies[\"p\"].permissions: [] (expected: at least one"
                + " permission)"), route.getMessage());
    }
}
