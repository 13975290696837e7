package io.jmesh.discovery.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.xds.AdsBootstrap;
import io.jmesh.proxy.xds.ListenerBinding;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * VirtualService delegation end to end: {@code jmesh discovery} with a root VirtualService in {@code default} whose
 * routes delegate to VirtualServices without hosts in {@code team}, a real sidecar following it, three real
 * backends, requests by curl through the sidecar's outbound port. What a user sees:
 * <ul>
 *   <li>a delegate's route inside the root's match ({@code /v2/beta} within {@code /v2}) goes where the delegate
 *       says, with the delegate's response headers;</li>
 *   <li>a delegate route without match takes the root's match and the root's headers;</li>
 *   <li>a delegate route whose match is outside the root's ({@code /v1} under {@code /v2}) is dropped, as Istio
 *       drops it: {@code /v1} reaches the root's catch-all;</li>
 *   <li>a delegate not exported to the root's namespace drops the root's route;</li>
 *   <li>short hosts in a delegate resolve in the delegate's namespace;</li>
 *   <li>editing only the delegate changes routing.</li>
 * </ul>
 */
class VirtualServiceDelegationEndToEndTest {

    private static final String NODE = "sidecar~127.0.0.9~client-1.default~default.svc.cluster.local";
    private static final String HOST = "reviews.default.svc.cluster.local";

    @TempDir
    Path dir;

    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (int i = closing.size() - 1; i >= 0; i--) {
            closing.get(i).close();
        }
    }

    private static String serviceEntry(String name, String ns, int port) {
        return """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: %1$s, namespace: %2$s}
                spec:
                  hosts: [%1$s.%2$s.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 9080, name: http, protocol: HTTP}]
                  endpoints: [{address: 127.0.0.1, ports: {http: %3$d}}]
                ---
                """.formatted(name, ns, port);
    }

    private static String delegateV2(String betaHost) {
        return """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: v2, namespace: team}
                spec:
                  http:
                  - name: beta
                    match: [{uri: {prefix: /v2/beta}}]
                    headers: {response: {set: {x-route: beta}}}
                    route: [{destination: {host: %s}}]
                  - name: outside
                    match: [{uri: {prefix: /v1}}]
                    route: [{destination: {host: backend-b}}]
                  - name: rest
                    route: [{destination: {host: backend-a}}]
                """.formatted(betaHost);
    }

    private static final String ROOT_AND_HIDDEN = """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews, namespace: default}
            spec:
              hosts: [reviews]
              http:
              - name: hidden
                match: [{uri: {prefix: /hidden}}]
                delegate: {name: hidden, namespace: team}
              - name: v2
                match: [{uri: {prefix: /v2}}]
                headers: {response: {set: {x-root: "yes"}}}
                delegate: {name: v2, namespace: team}
              - route: [{destination: {host: backend-c}}]
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: hidden, namespace: team}
            spec:
              exportTo: [.]
              http: [{route: [{destination: {host: backend-b}}]}]
            ---
            """;

    private static Curl.Result get(int port, String path) {
        try {
            return Curl.run("-H", "Host: " + HOST + ":9080", "http://127.0.0.1:" + port + path);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String backend(int port, String path) {
        return get(port, path).headers.get("x-backend");
    }

    @Test
    void delegatesMergeIntoTheRootAsIstioMergesThem() throws Exception {
        TestBackend a = TestBackend.start("a");
        TestBackend b = TestBackend.start("b");
        TestBackend c = TestBackend.start("c");
        closing.add(a);
        closing.add(b);
        closing.add(c);
        String services = """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: reviews, namespace: default}
                spec:
                  hosts: [reviews.default.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 9080, name: http, protocol: HTTP}]
                ---
                """ + serviceEntry("backend-a", "team", a.port()) + serviceEntry("backend-b", "team", b.port())
                + serviceEntry("backend-c", "default", c.port());
        TestDiscovery d = TestDiscovery.start(dir, "services.yaml", services);
        closing.add(d);
        d.write("routes.yaml", ROOT_AND_HIDDEN);
        d.write("delegate.yaml", delegateV2("backend-b"));
        ProxyServer p = ProxyServer.start(AdsBootstrap.forDiscovery("127.0.0.1", d.server.grpcAddress().getPort(),
                NODE, Map.of(), Map.of("app", "client"), 0), 1, new ListenerBinding("127.0.0.1", Map.of(9080, 0)));
        closing.add(p::close);
        Poll.until(() -> p.listenerAddresses().containsKey("0.0.0.0_9080"), "the outbound listener");
        int port = p.listenerAddresses().get("0.0.0.0_9080").getPort();
        Poll.until(() -> "b".equals(backend(port, "/v2/beta/1")), "the delegate's route is served");

        Curl.Result beta = get(port, "/v2/beta/1");
        assertEquals(200, beta.status, beta.toString());
        assertEquals("beta", beta.headers.get("x-route"), "the delegate's headers");
        assertNull(beta.headers.get("x-root"), "the delegate's headers replace the root's");

        Curl.Result rest = get(port, "/v2/other");
        assertEquals("a", rest.headers.get("x-backend"), rest.toString());
        assertEquals("yes", rest.headers.get("x-root"), "the root's headers when the delegate has none");

        assertEquals("c", backend(port, "/v1/x"), "a delegate route outside the root's match is dropped");
        assertEquals("c", backend(port, "/hidden"), "a delegate not exported to the root's namespace is not used");
        assertEquals("c", backend(port, "/"), "the root's own route");

        // Only the delegate changes: its beta route now goes to backend-a (short name, delegate's namespace).
        d.write("delegate.yaml", delegateV2("backend-a"));
        Poll.until(() -> "a".equals(backend(port, "/v2/beta/1")), "the edited delegate is served");
        assertEquals("c", backend(port, "/v1/x"));
    }
}
