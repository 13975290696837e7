package io.jmesh.discovery.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.discovery.config.ConfigSnapshot;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.config.VirtualService;
import io.jmesh.discovery.config.VirtualService.HTTPMatchRequest;
import io.jmesh.discovery.config.VirtualService.HTTPRoute;
import io.jmesh.discovery.config.VirtualService.StringMatch;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Istio's merge rules for VirtualService delegation ({@code pilot/pkg/model/virtualservice_test.go} cases), seen
 * through the VirtualServices a snapshot applies: the root with its delegating routes replaced.
 */
class VirtualServiceDelegationTest {

    private static MeshSnapshot snapshot(String yaml) {
        ConfigParser.Result parsed = ConfigParser.parse(Path.of("vs.yaml"), yaml);
        assertEquals(List.of(), parsed.errors());
        return new MeshSnapshot(1, new ConfigSnapshot(parsed.configs(), parsed.errors(), MeshConfig.DEFAULT),
                List.of(), List.of());
    }

    /** The merged HTTP routes of the root {@code default/root} for a root route {@code rootRoute} (YAML). */
    private static List<HTTPRoute> merged(String rootRoute, String delegateHttp) {
        MeshSnapshot s = snapshot("""
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: root, namespace: default}
                spec:
                  hosts: [reviews]
                  http:
                  - %s
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: leaf, namespace: team}
                spec:
                  http: %s
                """.formatted(rootRoute, delegateHttp));
        assertEquals(1, s.virtualServices().size(), "the delegate is not a VirtualService of its own");
        return s.virtualServices().get(0).spec().http();
    }

    private static final String ROOT = "{name: r, match: [{uri: {prefix: /products}, headers: {x-a: {exact: a}}}], "
            + "timeout: 5s, retries: {attempts: 4}, headers: {request: {set: {x-root: y}}}, "
            + "delegate: {name: leaf, namespace: team}}";

    private static StringMatch prefix(String p) {
        return new StringMatch(null, p, null);
    }

    @Test
    void delegateMatchesAreAndedWithTheRootsAndNamesJoined() {
        List<HTTPRoute> out = merged(ROOT, """
                [{name: d, match: [{name: m, uri: {prefix: /products/v1}, headers: {x-b: {exact: b}}}],
                  route: [{destination: {host: ratings}}]}]""");
        assertEquals(1, out.size());
        HTTPRoute r = out.get(0);
        assertEquals("r-d", r.name());
        HTTPMatchRequest m = r.match().get(0);
        assertEquals("m", m.name());
        assertEquals(prefix("/products/v1"), m.uri());
        assertEquals(Map.of("x-a", new StringMatch("a", null, null), "x-b", new StringMatch("b", null, null)),
                m.headers());
        assertNull(r.delegate());
    }

    @Test
    void aDelegateRouteWithoutMatchTakesTheRootsAndRootSettingsFillWhatTheDelegateLeavesUnset() {
        List<HTTPRoute> out = merged(ROOT, """
                [{route: [{destination: {host: ratings}}], timeout: 1s}]""");
        HTTPRoute r = out.get(0);
        assertEquals(prefix("/products"), r.match().get(0).uri());
        assertEquals("1s", r.timeout(), "the delegate's own value wins");
        assertEquals(4, r.retries().attempts(), "the root's when the delegate has none");
        assertEquals(Map.of("x-root", "y"), r.headers().request().set());
        assertEquals("ratings.team.svc.cluster.local", r.route().get(0).destination().host(),
                "a delegate's short host resolves in the delegate's namespace");
    }

    @Test
    void aDelegateRouteOutsideTheRootsMatchIsDroppedAndTheOthersKept() {
        List<HTTPRoute> out = merged(ROOT, """
                [{name: outside, match: [{uri: {prefix: /reviews}}], route: [{destination: {host: a}}]},
                 {name: broader, match: [{uri: {prefix: /prod}}], route: [{destination: {host: a}}]},
                 {name: header-clash, match: [{headers: {x-a: {exact: other}}}], route: [{destination: {host: a}}]},
                 {name: inside, match: [{uri: {exact: /products/1}}], route: [{destination: {host: a}}]}]""");
        assertEquals(List.of("r-inside"), out.stream().map(HTTPRoute::name).toList());
    }

    @Test
    void stringMatchConflictsAreIstios() {
        StringMatch exact = new StringMatch("/a", null, null);
        StringMatch regex = new StringMatch(null, null, "/a.*");
        assertFalse(VirtualServiceDelegation.stringConflict(null, exact), "unset root: anything fits");
        assertFalse(VirtualServiceDelegation.stringConflict(prefix("/a"), null), "unset leaf inherits");
        assertFalse(VirtualServiceDelegation.stringConflict(prefix("/a"), prefix("/a/b")));
        assertTrue(VirtualServiceDelegation.stringConflict(prefix("/a/b"), prefix("/a")));
        assertFalse(VirtualServiceDelegation.stringConflict(prefix("/a"), exact));
        assertTrue(VirtualServiceDelegation.stringConflict(exact, prefix("/a")), "exact root, prefix leaf");
        assertFalse(VirtualServiceDelegation.stringConflict(exact, exact));
        assertTrue(VirtualServiceDelegation.stringConflict(exact, new StringMatch("/b", null, null)));
        assertTrue(VirtualServiceDelegation.stringConflict(regex, regex), "a regex on either side conflicts");
        assertTrue(VirtualServiceDelegation.stringConflict(prefix("/"), regex));
    }

    @Test
    void otherMatchFieldsMustAgree() {
        HTTPMatchRequest root = match(8080, "shop", Map.of("app", "web"), List.of("default/gw"), null);
        assertTrue(VirtualServiceDelegation.conflict(root, match(9090, null, Map.of(), List.of(), null)), "port");
        assertTrue(VirtualServiceDelegation.conflict(root, match(null, "other", Map.of(), List.of(), null)),
                "sourceNamespace");
        assertTrue(VirtualServiceDelegation.conflict(root, match(null, "shop", Map.of("app", "api"), List.of(),
                null)), "sourceLabels");
        assertTrue(VirtualServiceDelegation.conflict(root, match(null, "shop", Map.of(), List.of("default/other"),
                null)), "gateways");
        assertTrue(VirtualServiceDelegation.conflict(root, match(null, "shop", Map.of(), List.of(), true)),
                "ignoreUriCase must be equal");
        assertFalse(VirtualServiceDelegation.conflict(root, match(8080, "shop", Map.of("app", "web", "v", "1"),
                List.of("default/gw"), null)));
    }

    private static HTTPMatchRequest match(Integer port, String sourceNamespace, Map<String, String> labels,
                                          List<String> gateways, Boolean ignoreCase) {
        return new HTTPMatchRequest(null, null, null, null, null, Map.of(), port, labels, gateways, Map.of(),
                ignoreCase, Map.of(), sourceNamespace);
    }

    @Test
    void aMissingDelegateOrOneThatIsNotADelegateDropsTheRootsRouteOnly() {
        MeshSnapshot s = snapshot("""
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: root, namespace: default}
                spec:
                  hosts: [reviews]
                  http:
                  - {name: missing, match: [{uri: {prefix: /a}}], delegate: {name: nope}}
                  - {name: not-delegate, match: [{uri: {prefix: /b}}], delegate: {name: other}}
                  - {name: last, route: [{destination: {host: reviews}}]}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: other, namespace: default}
                spec:
                  hosts: [ratings]
                  http: [{route: [{destination: {host: ratings}}]}]
                """);
        Config<VirtualService> root = s.virtualServices().stream().filter(c -> c.meta().name().equals("root"))
                .findFirst().orElseThrow();
        assertEquals(List.of("last"), root.spec().http().stream().map(HTTPRoute::name).toList());
        assertEquals(List.of(
                "VirtualService/default/root spec.http[0].delegate: default/nope (expected: a VirtualService without "
                        + "hosts; not found, the route is dropped)",
                "VirtualService/default/root spec.http[1].delegate: default/other (expected: a VirtualService without "
                        + "hosts; not found, the route is dropped)"), s.delegationProblems());
    }

    @Test
    void aDelegateExportedToTheRootsNamespaceIsUsed() {
        List<HTTPRoute> out = merged("{match: [{uri: {prefix: /a}}], delegate: {name: leaf, namespace: team}}", """
                [{route: [{destination: {host: a}}]}]
                  exportTo: [default]""");
        assertEquals(1, out.size());
    }

    private static String reason(String spec) {
        ConfigParser.Result r = ConfigParser.parse(Path.of("t.yaml"), "apiVersion: networking.istio.io/v1\nkind: "
                + "VirtualService\nmetadata: {name: x, namespace: shop}\nspec:\n" + spec.indent(2));
        return r.errors().isEmpty() ? null : r.errors().get(0).reason();
    }

    @Test
    void validationFollowsIstiodsDelegateRules() {
        assertNull(reason("http: [{route: [{destination: {host: a}}]}]"), "a delegate");
        assertNull(reason("hosts: [a]\nhttp: [{match: [{uri: {prefix: /a}}], timeout: 1s, delegate: {name: d}}]"));
        assertEquals("spec.gateways: [gw] (expected: none; delegate virtual service must have no gateways specified)",
                reason("gateways: [gw]\nhttp: [{route: [{destination: {host: a}}]}]"));
        assertEquals("spec.tcp: 1 routes (expected: none; delegate virtual service must have no tcp route specified)",
                reason("tcp: [{route: [{destination: {host: a}}]}]"));
        assertEquals("spec.http[0].delegate: d (expected: none; delegate HTTP route cannot contain delegate: only "
                + "one level of delegation)", reason("http: [{delegate: {name: d}}]"));
        assertEquals("spec.http[0].route: set with delegate (expected: none; root HTTP route must not specify route)",
                reason("hosts: [a]\nhttp: [{delegate: {name: d}, route: [{destination: {host: a}}]}]"));
        assertEquals("spec.http[0].redirect: set with delegate (expected: none; root HTTP route must not specify "
                + "redirect)", reason("hosts: [a]\nhttp: [{delegate: {name: d}, redirect: {uri: /x}}]"));
        assertEquals("spec.http[0].delegate.name: missing (expected: the name of a VirtualService without hosts)",
                reason("hosts: [a]\nhttp: [{delegate: {namespace: team}}]"));
        assertEquals("spec.http[0].delegate.namespace: Team (expected: a DNS-1123 label)",
                reason("hosts: [a]\nhttp: [{delegate: {name: d, namespace: Team}}]"));
    }
}
