package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.TestBackend;

/**
 * End to end, the examples of Istio's authorization task pages that need no peer certificate or JWT: {@code jmesh
 * discovery} reads the AuthorizationPolicies with the workload {@code httpbin.foo} (a WorkloadEntry at 127.0.0.21
 * with an HTTP and a TCP port served by real backends on 127.0.0.1), its sidecar follows discovery over ADS with
 * its inbound listeners bound on 127.0.0.21 (the inbound address of {@link io.jmesh.proxy.xds.ListenerBinding}), and curl, from
 * 127.0.0.1, sees what the policies decide: 200 from the backend, 403 {@code RBAC: access denied} from the
 * sidecar, or, on the TCP port, a closed connection.
 */
class AuthorizationFollowsDiscoveryTest {

    private static final String INBOUND = "127.0.0.21";

    @TempDir
    Path dir;

    /** A probe: curl arguments (besides the URL's port, which is the HTTP port unless {@code tcp}) and the status. */
    record Probe(String method, String path, String header, boolean tcp, int status) {
        static Probe get(String path, int status) {
            return new Probe("GET", path, null, false, status);
        }

        static Probe post(String path, int status) {
            return new Probe("POST", path, null, false, status);
        }

        @Override
        public String toString() {
            return (tcp ? "tcp " : "") + method + " " + path + (header == null ? "" : " [" + header + "]") + " -> "
                    + status;
        }
    }

    record Example(String page, String policies, List<Probe> probes) {
        @Override
        public String toString() {
            return page;
        }
    }

    private static String ap(String name, String namespace, String spec) {
        return "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: " + name
                + "\n  namespace: " + namespace + "\n" + "spec:\n" + spec.indent(2) + "---\n";
    }

    static Stream<Arguments> examples() {
        return Stream.of(
                new Example("no policy: everything is allowed", "",
                        List.of(Probe.get("/", 200), Probe.post("/", 200),
                                new Probe("GET", "/", null, true, 200))),
                new Example("authz-http: allow-nothing", ap("allow-nothing", "foo", "{}"),
                        List.of(Probe.get("/", 403), Probe.post("/", 403), new Probe("GET", "/", null, true, 0))),
                new Example("authz-http: GET only", ap("viewer", "foo", """
                        selector: {matchLabels: {app: httpbin}}
                        action: ALLOW
                        rules: [{to: [{operation: {methods: ["GET"]}}]}]"""),
                        List.of(Probe.get("/productpage", 200), Probe.post("/productpage", 403))),
                new Example("authz-deny: deny-method-get", ap("deny-method-get", "foo", """
                        selector: {matchLabels: {app: httpbin}}
                        action: DENY
                        rules: [{to: [{operation: {methods: ["GET"]}}]}]"""),
                        List.of(Probe.get("/get", 403), Probe.post("/post", 200))),
                new Example("authz-deny: deny GET unless x-token is admin", ap("deny-method-get", "foo", """
                        selector: {matchLabels: {app: httpbin}}
                        action: DENY
                        rules:
                        - to: [{operation: {methods: ["GET"]}}]
                          when: [{key: "request.headers[x-token]", notValues: ["admin"]}]"""),
                        List.of(Probe.get("/get", 403), new Probe("GET", "/get", "x-token: admin", false, 200),
                                new Probe("GET", "/get", "x-token: guest", false, 403))),
                new Example("authz-deny: allow-path-ip and deny-method-get", ap("deny-method-get", "foo", """
                        action: DENY
                        rules: [{to: [{operation: {methods: ["GET"]}}]}]""") + ap("allow-path-ip", "foo", """
                        action: ALLOW
                        rules: [{to: [{operation: {paths: ["/ip"]}}]}]"""),
                        List.of(Probe.post("/ip", 200), Probe.get("/ip", 403), Probe.post("/other", 403))),
                new Example("authz-http: paths with prefix and suffix wildcards", ap("paths", "foo", """
                        rules: [{to: [{operation: {paths: ["/status/*", "*.png"]}}]}]"""),
                        List.of(Probe.get("/status/200", 200), Probe.get("/img/logo.png", 200),
                                Probe.get("/headers", 403))),
                new Example("authz-ingress: ipBlocks of the peer", ap("ip-allow", "foo", """
                        rules: [{from: [{source: {ipBlocks: ["127.0.0.1"]}}]}]""") + ap("ip-deny", "foo", """
                        action: DENY
                        rules: [{from: [{source: {ipBlocks: ["10.0.0.0/8"]}}], to: [{operation: {paths: ["/x"]}}]}]"""),
                        List.of(Probe.get("/", 200), Probe.get("/x", 200))),
                new Example("authz-ingress: notIpBlocks denies everyone else", ap("ip-deny", "foo", """
                        action: DENY
                        rules: [{from: [{source: {notIpBlocks: ["10.0.0.0/8"]}}]}]"""),
                        List.of(Probe.get("/", 403))),
                new Example("mesh-wide DENY from the root namespace", ap("deny-admin", "istio-system", """
                        action: DENY
                        rules: [{to: [{operation: {paths: ["/admin/*"]}}]}]"""),
                        List.of(Probe.get("/admin/users", 403), Probe.get("/users", 200))),
                new Example("authz-dry-run: a dry-run DENY is not enforced", """
                        apiVersion: security.istio.io/v1
                        kind: AuthorizationPolicy
                        metadata:
                          name: deny-path-headers
                          namespace: foo
                          annotations: {istio.io/dry-run: "true"}
                        spec:
                          action: DENY
                          rules: [{to: [{operation: {paths: ["/headers"]}}]}]
                        ---
                        """, List.of(Probe.get("/headers", 200))),
                new Example("authz-tcp: ALLOW ports on the TCP port", ap("tcp-policy", "foo", """
                        selector: {matchLabels: {app: httpbin}}
                        action: ALLOW
                        rules: [{to: [{operation: {ports: ["%TCP%"]}}]}]"""),
                        List.of(new Probe("GET", "/", null, true, 200), Probe.get("/", 403))),
                new Example("authz-tcp: an ALLOW rule with an HTTP method matches no TCP connection",
                        ap("tcp-policy", "foo", """
                        selector: {matchLabels: {app: httpbin}}
                        action: ALLOW
                        rules: [{to: [{operation: {methods: ["GET"], ports: ["%TCP%"]}}]}]"""),
                        List.of(new Probe("GET", "/", null, true, 0))),
                new Example("authz-tcp: a DENY rule with an HTTP method denies every TCP connection",
                        ap("tcp-policy", "foo", """
                        selector: {matchLabels: {app: httpbin}}
                        action: DENY
                        rules: [{to: [{operation: {methods: ["GET"]}}]}]"""),
                        List.of(new Probe("GET", "/", null, true, 0), Probe.post("/", 200), Probe.get("/", 403)))
        ).map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("examples")
    void sidecarEnforcesWhatDiscoveryTranslated(Example e) throws Exception {
        try (TestBackend http = TestBackend.start("httpbin"); TestBackend tcp = TestBackend.start("httpbin-tcp")) {
            write("mesh.yaml", SidecarWithDiscovery.httpbinConfig(INBOUND, http.port(), tcp.port())
                    + e.policies().replace("%TCP%", String.valueOf(tcp.port())));
            try (SidecarWithDiscovery mesh = SidecarWithDiscovery.httpbin(dir, null, INBOUND)) {
                String httpBase = mesh.inboundBase(INBOUND, http.port());
                String tcpBase = mesh.inboundBase(INBOUND, tcp.port());
                List<String> expected = new ArrayList<>();
                List<String> actual = new ArrayList<>();
                for (Probe p : e.probes()) {
                    List<String> args = new ArrayList<>(List.of("-X", p.method()));
                    if (p.header() != null) {
                        args.addAll(List.of("-H", p.header()));
                    }
                    args.add((p.tcp() ? tcpBase : httpBase) + p.path());
                    Curl.Result r = Curl.run(args.toArray(String[]::new));
                    expected.add(p.toString());
                    actual.add(new Probe(p.method(), p.path(), p.header(), p.tcp(), r.status).toString());
                    if (r.status == 403) {
                        assertEquals("RBAC: access denied", r.body.trim(), p.toString());
                    }
                }
                assertEquals(expected, actual);
            }
        }
    }

    @org.junit.jupiter.api.Test
    void policiesWrittenAndRemovedLaterReachTheRunningSidecar() throws Exception {
        try (TestBackend http = TestBackend.start("httpbin")) {
            write("mesh.yaml", SidecarWithDiscovery.httpbinConfig(INBOUND, http.port(), 0));
            try (SidecarWithDiscovery mesh = SidecarWithDiscovery.httpbin(dir, null, INBOUND)) {
                String url = mesh.inboundBase(INBOUND, http.port()) + "/post";
                assertEquals(200, Curl.run("-X", "POST", url).status);

                write("authz.yaml", ap("deny-post", "foo", """
                        selector: {matchLabels: {app: httpbin}}
                        action: DENY
                        rules: [{to: [{operation: {methods: ["POST"]}}]}]"""));
                Poll.until(() -> status("-X", "POST", url) == 403, "the DENY policy pushed to the sidecar");
                assertEquals(200, Curl.run(url).status, "GET is not denied");

                Files.delete(dir.resolve("authz.yaml"));
                Poll.until(() -> status("-X", "POST", url) == 200, "the DENY policy removed from the sidecar");
            }
        }
    }

    private static int status(String... args) {
        try {
            return Curl.run(args).status;
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private void write(String name, String text) throws Exception {
        Path tmp = dir.resolve("." + name + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, dir.resolve(name), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
}
