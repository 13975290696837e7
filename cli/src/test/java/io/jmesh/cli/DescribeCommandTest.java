package io.jmesh.cli;

import static io.jmesh.cli.CliRun.jmesh;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.testing.Poll;

/**
 * {@code jmesh x describe pod|service} against a running discovery with a sidecar ({@code reviews-v1.default},
 * labels {@code app=reviews, version=v1}, address 10.0.0.7) following it: the service and port the pod serves, the
 * DestinationRule's matching subset and TLS mode, the mesh VirtualService's weighted routes, the ingress gateway
 * exposing it, the effective mTLS mode with the policies it comes from, and the AuthorizationPolicy selecting it
 * (not the one with a {@code targetRef}, which the sidecar is not sent), in istioctl's shape.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DescribeCommandTest {

    private static final String NODE = "sidecar~10.0.0.7~reviews-v1.default~default.svc.cluster.local";

    private SidecarWithDiscovery mesh;
    private String monitoring;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("mesh.yaml"), """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: reviews, namespace: default}
                spec:
                  hosts: [reviews.default.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 9080, name: http, protocol: HTTP}]
                  endpoints:
                  - {address: 10.0.0.7, labels: {app: reviews, version: v1}}
                  - {address: 10.0.0.8, labels: {app: reviews, version: v2}}
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: default}
                spec:
                  host: reviews
                  trafficPolicy: {tls: {mode: DISABLE}}
                  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: reviews, namespace: default}
                spec:
                  hosts: [reviews]
                  http:
                  - match: [{uri: {prefix: /api}}]
                    route:
                    - {destination: {host: reviews, subset: v1}, weight: 80}
                    - {destination: {host: reviews, subset: v2}, weight: 20}
                ---
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: bookinfo-gateway, namespace: default}
                spec:
                  selector: {istio: ingressgateway}
                  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: bookinfo, namespace: default}
                spec:
                  hosts: ["*"]
                  gateways: [bookinfo-gateway]
                  http: [{match: [{uri: {prefix: /reviews}}], route: [{destination: {host: reviews, port: {number: 9080}}}]}]
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: istio-system}
                spec: {mtls: {mode: STRICT}}
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: reviews, namespace: default}
                spec:
                  selector: {matchLabels: {app: reviews}}
                  mtls: {mode: PERMISSIVE}
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: allow-get, namespace: default}
                spec:
                  selector: {matchLabels: {app: reviews}}
                  rules: [{to: [{operation: {methods: [GET]}}]}]
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: gateway-only, namespace: default}
                spec:
                  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: bookinfo-gateway}]
                  action: DENY
                  rules: [{to: [{operation: {methods: [POST]}}]}]
                """);
        mesh = SidecarWithDiscovery.start(dir, NODE, Map.of("app", "reviews", "version", "v1"));
        monitoring = mesh.monitoring();
        Poll.until(() -> jmesh("proxy-status", "-d", monitoring).out().contains("reviews-v1.default"),
                "reviews-v1.default connected");
    }

    @AfterAll
    void stop() {
        if (mesh != null) {
            mesh.close();
        }
    }

    @Test
    void describePod() {
        CliRun r = jmesh("x", "describe", "pod", "reviews-v1", "-d", monitoring);
        assertEquals(0, r.exit(), r.err());
        assertEquals("""
                Pod: reviews-v1
                   Pod Ports: 9080
                --------------------
                Service: reviews
                   Port: http 9080/HTTP targets pod port 9080
                DestinationRule: reviews for "reviews"
                   Matching subsets: v1
                      (Non-matching subsets v2)
                   Traffic Policy TLS Mode: DISABLE
                VirtualService: reviews
                   Route to host "reviews" subset "v1" with weight 80%
                   Route to host "reviews" subset "v2" with weight 20%
                   Match: /api*
                --------------------
                Exposed on Ingress Gateway bookinfo-gateway.default http://*:80
                   Gateway proxies: none connected
                VirtualService: bookinfo
                   /reviews*
                --------------------
                Effective PeerAuthentication:
                   Workload mTLS mode: PERMISSIVE
                Applied PeerAuthentication:
                   default.istio-system, reviews.default
                Applied AuthorizationPolicies:
                   allow-get.default (ALLOW, 1 rule)
                """, r.out());
    }

    @Test
    void describeService() {
        CliRun r = jmesh("x", "describe", "svc", "reviews", "-n", "default", "-d", monitoring);
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("""
                Service: reviews
                   Port: http 9080/HTTP targets pod port 9080
                DestinationRule: reviews for "reviews"
                   Matching subsets: \n      (Non-matching subsets v1,v2)
                   Traffic Policy TLS Mode: DISABLE
                VirtualService: reviews
                   Route to host "reviews" subset "v1" with weight 80%
                """), r.out());
        assertTrue(r.out().contains("Exposed on Ingress Gateway bookinfo-gateway.default http://*:80\n"), r.out());
    }

    @Test
    void unknownNamesAreOneLineErrors() {
        CliRun pod = jmesh("x", "describe", "pod", "nobody", "-d", monitoring);
        assertEquals(1, pod.exit());
        assertEquals("Error: jmesh discovery answered 404 to GET /debug/describe?pod=nobody.default: pod: "
                + "nobody.default (expected: NAME.NAMESPACE of a connected proxy: reviews-v1.default)\n", pod.err());
        CliRun svc = jmesh("x", "describe", "service", "ratings", "-d", monitoring);
        assertEquals(1, svc.exit());
        assertEquals("Error: jmesh discovery answered 404 to GET /debug/describe?service=ratings&namespace=default: "
                + "service: ratings.default.svc.cluster.local (expected: a host of /debug/registryz)\n", svc.err());
    }
}
