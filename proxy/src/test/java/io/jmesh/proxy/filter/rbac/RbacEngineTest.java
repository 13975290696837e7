package io.jmesh.proxy.filter.rbac;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;

import org.junit.jupiter.api.Test;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.network.http.HttpRequestAttributes;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.stream.StreamInfo;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;

/**
 * The RBAC engine, one matcher at a time, with rules written as istiod writes them (camelCase JSON from
 * {@code pilot/pkg/security/authz/builder/testdata}): a single ALLOW policy {@code p} whose permission or principal
 * is the rule under test.
 */
class RbacEngineTest {

    private static RbacEngine engine(String yaml) throws ConfigException {
        return RbacEngine.compile(EnvoyTypes.PARSER.parse(yaml, RBAC.newBuilder()).build(), "rules");
    }

    private static RbacEngine permission(String rule) throws ConfigException {
        return engine("{ action: ALLOW, policies: { p: { permissions: [" + rule + "], principals: [{ any: true }] } } }");
    }

    private static RbacEngine principal(String rule) throws ConfigException {
        return engine("{ action: ALLOW, policies: { p: { permissions: [{ any: true }], principals: [" + rule + "] } } }");
    }

    /** A request as the HTTP connection manager hands it to the filters. */
    private static final class Req {
        final HttpRequest request;
        ConnectionInfo connection = ConnectionInfo.create(new InetSocketAddress("10.0.0.2", 8080),
                                                          new InetSocketAddress("10.1.2.3", 40000));
        final StreamInfo info = new StreamInfo();

        Req(HttpMethod method, String uri, String... headers) {
            request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, method, uri);
            request.headers().set("host", "www.example.com");
            for (int i = 0; i < headers.length; i += 2) {
                request.headers().add(headers[i], headers[i + 1]);
            }
        }

        boolean allowedBy(RbacEngine e) {
            return e.evaluate(new HttpRequestAttributes(request, connection, "http"), connection, info).allowed();
        }
    }

    private static Req get(String uri, String... headers) {
        return new Req(HttpMethod.GET, uri, headers);
    }

    @Test
    void headersIncludingPseudoHeadersWithIstiosLegacyAndStringMatchForms() throws Exception {
        RbacEngine host = permission("{ header: { name: ':authority', stringMatch: { exact: WWW.EXAMPLE.COM, ignoreCase: true } } }");
        assertTrue(get("/").allowedBy(host));
        RbacEngine method = permission("{ orRules: { rules: [{ header: { name: ':method', exactMatch: POST } },"
                + " { header: { name: ':method', prefixMatch: GE } }] } }");
        assertTrue(get("/").allowedBy(method));
        assertFalse(new Req(HttpMethod.PUT, "/").allowedBy(method));
        RbacEngine present = principal("{ header: { name: X-Header, presentMatch: true } }");
        assertTrue(get("/", "x-header", "").allowedBy(present));
        assertFalse(get("/").allowedBy(present));
        RbacEngine joined = principal("{ header: { name: x-multi, exactMatch: 'a,b' } }");
        assertTrue(get("/", "x-multi", "a", "x-multi", "b").allowedBy(joined), "several values are joined with ','");
        RbacEngine inverted = principal("{ header: { name: x-h, stringMatch: { suffix: '-bad' }, invertMatch: true } }");
        assertTrue(get("/", "x-h", "fine").allowedBy(inverted));
        assertFalse(get("/", "x-h", "is-bad").allowedBy(inverted));
    }

    private static String uriTemplate(String template) {
        return "{ uriTemplate: { name: uri-template, typedConfig: { '@type': "
                + "type.googleapis.com/envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig, "
                + "pathTemplate: '" + template + "' } } }";
    }

    @Test
    void uriTemplatesAsIstioWritesThemForPathTemplates() throws Exception {
        RbacEngine one = permission(uriTemplate("/store/{*}/items"));
        assertTrue(get("/store/42/items").allowedBy(one));
        assertTrue(get("/store/42/items?sort=asc").allowedBy(one));
        assertFalse(get("/store/42/43/items").allowedBy(one), "{*} is exactly one segment");
        assertFalse(get("/store//items").allowedBy(one), "an empty segment is not a segment");
        RbacEngine rest = permission(uriTemplate("/api/{**}"));
        assertTrue(get("/api/v1/users/7").allowedBy(rest));
        assertTrue(get("/api").allowedBy(rest), "{**} is zero or more segments");
        assertFalse(get("/apix/v1").allowedBy(rest));
        RbacEngine named = permission(uriTemplate("/users/{id=*}/{rest=**}"));
        assertTrue(get("/users/7/orders/1").allowedBy(named));
        assertFalse(get("/users").allowedBy(named));
        ConfigException bad = assertThrows(ConfigException.class, () -> permission(uriTemplate("/a/{**}/b")));
        assertTrue(bad.getMessage().contains(".uri_template.typed_config.path_template: /a/{**}/b (expected: ** only in"
                + " the last segment)"), bad.getMessage());
    }

    @Test
    void urlPathIgnoresQueryAndFragment() throws Exception {
        RbacEngine exact = permission("{ urlPath: { path: { exact: /exact } } }");
        assertTrue(get("/exact?a=b").allowedBy(exact));
        assertTrue(get("/exact#frag").allowedBy(exact));
        assertFalse(get("/exact/more").allowedBy(exact));
        RbacEngine regex = permission("{ urlPath: { path: { safeRegex: { googleRe2: {}, regex: '/api/v[0-9]+/.*' } } } }");
        assertTrue(get("/api/v2/users").allowedBy(regex));
        assertFalse(get("/api/vx/users").allowedBy(regex));
        RbacEngine ic = permission("{ urlPath: { path: { prefix: /Admin, ignoreCase: true } } }");
        assertTrue(get("/admin/x").allowedBy(ic));
    }

    @Test
    void destinationAddressPortRangeAndSni() throws Exception {
        Req r = get("/");
        assertTrue(r.allowedBy(permission("{ destinationIp: { addressPrefix: 10.0.0.0, prefixLen: 24 } }")));
        assertFalse(r.allowedBy(permission("{ destinationIp: { addressPrefix: 10.0.1.0, prefixLen: 24 } }")));
        assertTrue(r.allowedBy(permission("{ destinationPort: 8080 }")));
        assertFalse(r.allowedBy(permission("{ destinationPort: 80 }")));
        assertTrue(r.allowedBy(permission("{ destinationPortRange: { start: 8000, end: 8081 } }")));
        assertFalse(r.allowedBy(permission("{ destinationPortRange: { start: 8000, end: 8080 } }")), "end is exclusive");
        r.connection.originalDestination(new InetSocketAddress("192.168.10.7", 9080));
        assertTrue(r.allowedBy(permission("{ andRules: { rules: [{ destinationPort: 9080 }, { destinationIp:"
                + " { addressPrefix: 192.168.10.0, prefixLen: 24 } }] } }")), "the original destination when redirected");
        RbacEngine sni = permission("{ requestedServerName: { suffix: .svc.cluster.local } }");
        assertFalse(r.allowedBy(sni));
        r.connection.requestedServerName("outbound_.8080_._.reviews.default.svc.cluster.local");
        assertTrue(r.allowedBy(sni));
    }

    @Test
    void remoteAndDirectRemoteIp() throws Exception {
        Req r = get("/");
        RbacEngine direct = principal("{ directRemoteIp: { addressPrefix: 10.1.0.0, prefixLen: 16 } }");
        RbacEngine remote = principal("{ remoteIp: { addressPrefix: 1.2.3.4, prefixLen: 32 } }");
        assertTrue(r.allowedBy(direct));
        assertFalse(r.allowedBy(remote));
        r.info.downstreamRemoteAddress(new InetSocketAddress("1.2.3.4", 0)); // from x-forwarded-for
        assertTrue(r.allowedBy(remote));
        assertTrue(r.allowedBy(direct), "the direct peer is still the socket's");
        RbacEngine v6 = principal("{ sourceIp: { addressPrefix: '2001:db8::', prefixLen: 32 } }");
        assertFalse(r.allowedBy(v6));
        r.connection = ConnectionInfo.create(new InetSocketAddress("::1", 80), new InetSocketAddress("2001:db8:1::5", 1));
        assertTrue(r.allowedBy(v6));
    }

    @Test
    void istioAuthnMetadataWrittenByTheJwtFilter() throws Exception {
        Req r = get("/");
        RbacEngine principal = principal("{ metadata: { filter: istio_authn, path: [{ key: request.auth.principal }],"
                + " value: { stringMatch: { exact: 'https://issuer.example/sub-1' } } } }");
        RbacEngine group = principal("{ metadata: { filter: istio_authn, path: [{ key: request.auth.claims },"
                + " { key: groups }], value: { listMatch: { oneOf: { stringMatch: { exact: group1 } } } } } }");
        RbacEngine audience = principal("{ metadata: { filter: istio_authn, path: [{ key: request.auth.audiences }],"
                + " value: { stringMatch: { exact: aud-1 } } } }");
        RbacEngine presenter = principal("{ metadata: { filter: istio_authn, path: [{ key: request.auth.presenter }],"
                + " value: { stringMatch: { prefix: client- } } } }");
        RbacEngine anonymous = principal("{ notId: { metadata: { filter: istio_authn, path: [{ key:"
                + " request.auth.principal }], value: { stringMatch: { safeRegex: { regex: '.+' } } } } } }");
        assertFalse(r.allowedBy(principal));
        assertTrue(r.allowedBy(anonymous), "no JWT: no metadata");
        r.info.setDynamicMetadata("istio_authn", Struct.newBuilder()
                .putFields("request.auth.principal", str("https://issuer.example/sub-1"))
                .putFields("request.auth.audiences", str("aud-1"))
                .putFields("request.auth.presenter", str("client-7"))
                .putFields("request.auth.claims", Value.newBuilder().setStructValue(Struct.newBuilder()
                        .putFields("groups", Value.newBuilder().setListValue(ListValue.newBuilder()
                                .addValues(str("group0")).addValues(str("group1"))).build())).build())
                .build());
        assertTrue(r.allowedBy(principal));
        assertTrue(r.allowedBy(group));
        assertTrue(r.allowedBy(audience));
        assertTrue(r.allowedBy(presenter));
        assertFalse(r.allowedBy(anonymous));
        RbacEngine inverted = principal("{ metadata: { filter: istio_authn, path: [{ key: request.auth.principal }],"
                + " value: { presentMatch: true }, invert: true } }");
        assertFalse(r.allowedBy(inverted));
    }

    private static Value str(String s) {
        return Value.newBuilder().setStringValue(s).build();
    }

    @Test
    void filterStateAndAuthenticatedWithoutTls() throws Exception {
        Req r = get("/");
        RbacEngine fs = principal("{ filterState: { key: io.istio.peer_principal, stringMatch: { exact: 'spiffe://a' } } }");
        assertFalse(r.allowedBy(fs));
        r.info.filterState().put("io.istio.peer_principal", "spiffe://a");
        assertTrue(r.allowedBy(fs));
        assertFalse(r.allowedBy(principal("{ authenticated: {} }")), "a plaintext connection is not authenticated");
        assertTrue(r.allowedBy(principal("{ notId: { authenticated: { principalName: { safeRegex: { regex: '.*' } } } } }")));
    }

    @Test
    void policiesAreTriedByNameAndTheActionDecides() throws Exception {
        String policies = "policies: { zeta: { permissions: [{ any: true }], principals: [{ any: true }] },"
                + " alpha: { permissions: [{ header: { name: x-a, presentMatch: true } }], principals: [{ any: true }] } }";
        RbacEngine deny = engine("{ action: DENY, " + policies + " }");
        Req plain = get("/");
        Req a = get("/", "x-a", "1");
        RbacEngine.Decision d = deny.evaluate(new HttpRequestAttributes(a.request, a.connection, "http"), a.connection, a.info);
        assertFalse(d.allowed());
        assertEquals("alpha", d.policyId());
        assertEquals("zeta", deny.evaluate(new HttpRequestAttributes(plain.request, plain.connection, "http"),
                plain.connection, plain.info).policyId());
        RbacEngine allowNone = engine("{ action: ALLOW }");
        RbacEngine.Decision none = allowNone.evaluate(null, plain.connection, null);
        assertFalse(none.allowed());
        assertNull(none.policyId());
        assertEquals("rbac_access_denied_matched_policy[none]", RbacPolicies.denialDetail(none));
        assertTrue(engine("{ action: DENY }").evaluate(null, plain.connection, null).allowed());
        RbacEngine log = engine("{ action: LOG, " + policies + " }");
        RbacEngine.Decision logged = log.evaluate(null, plain.connection, null);
        assertTrue(logged.allowed());
        assertTrue(log.logHint(logged));
    }

    @Test
    void networkRequestsHaveNoHeadersOrPath() throws Exception {
        ConnectionInfo c = ConnectionInfo.create(new InetSocketAddress("10.0.0.2", 8080), new InetSocketAddress("10.1.2.3", 1));
        assertFalse(permission("{ urlPath: { path: { prefix: / } } }").evaluate(null, c, null).allowed());
        assertFalse(permission("{ header: { name: x, presentMatch: true } }").evaluate(null, c, null).allowed());
        assertTrue(permission("{ header: { name: x, presentMatch: false } }").evaluate(null, c, null).allowed());
    }

    @Test
    void unsupportedOrInvalidRulesAreRefusedByPath() {
        ConfigException tmpl = assertThrows(ConfigException.class, () -> permission("{ uriTemplate: { name:"
                + " envoy.path.match.uri_template.uri_template_matcher } }"));
        assertEquals("rules.policies[\"p\"].permissions[0].uri_template.typed_config:  (expected:"
                + " envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig)", tmpl.getMessage());
        ConfigException empty = assertThrows(ConfigException.class, () -> principal("{}"));
        assertTrue(empty.getMessage().startsWith("rules.policies[\"p\"].principals[0].identifier: null"), empty.getMessage());
        ConfigException ip = assertThrows(ConfigException.class, () -> principal("{ orIds: { ids: [{ any: true },"
                + " { remoteIp: { addressPrefix: example.com } }] } }"));
        assertEquals("rules.policies[\"p\"].principals[0].or_ids.ids[1].remote_ip.address_prefix: \"example.com\""
                + " (expected: an IPv4 or IPv6 address)", ip.getMessage());
        ConfigException md = assertThrows(ConfigException.class, () -> principal("{ metadata: { filter: istio_authn,"
                + " path: [{ key: k }] } }"));
        assertEquals("rules.policies[\"p\"].principals[0].metadata.value: null (expected: a value matcher)", md.getMessage());
    }
}
