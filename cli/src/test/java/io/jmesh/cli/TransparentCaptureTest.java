package io.jmesh.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Transparent capture for real: two "pods", each a network namespace made by the test, linked by a veth pair
 * ({@code productpage} 10.250.N.2, {@code reviews} 10.250.N.3). In each, {@code jmesh iptables} rules (Istio's, applied
 * with {@code iptables-restore} inside the namespace) and a {@code jmesh proxy} sidecar following discovery with node
 * metadata {@code INTERCEPTION_MODE=REDIRECT}, run as UID 1337 (with {@code setpriv}; it keeps
 * {@code CAP_DAC_READ_SEARCH} only to read the class path under {@code /root}). The application is unchanged:
 * {@code curl http://reviews.default.svc.cluster.local:9080/} in the productpage namespace (the name resolved by the
 * namespace's {@code /etc/hosts} to the service VIP, on which nothing listens), and a plain HTTP server on 0.0.0.0 in
 * the reviews namespace. Discovery runs in this JVM in the root namespace, reached by each pod over a veth of its own
 * ({@link CapturedPods}). Skipped (with the reason) unless root with ip, iptables and setpriv.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TransparentCaptureTest {

    private static final String HOST = "reviews.default.svc.cluster.local";

    private CapturedPods pods;
    private String net;
    private String productpage;
    private String reviews;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        pods = CapturedPods.open(NetworkNamespaces.PREFIX, 250, dir);
        net = pods.net();
        String[] ns = pods.pods(net + "100 " + HOST + " reviews\n" + net + "101 ratings\n", "pp", "rv");
        productpage = ns[0];
        reviews = ns[1];
        pods.discovery("""
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: reviews, namespace: default}
                spec:
                  hosts: [reviews.default.svc.cluster.local]
                  addresses: [%1$s100]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 9080, name: http, protocol: HTTP}]
                  workloadSelector: {labels: {app: reviews}}
                ---
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: ratings, namespace: default}
                spec:
                  hosts: [ratings.default.svc.cluster.local]
                  addresses: [%1$s101]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 9091, name: tcp, protocol: TCP}]
                  workloadSelector: {labels: {app: reviews}}
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: reviews-v1, namespace: default}
                spec: {address: %1$s3, labels: {app: reviews, version: v1}}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: reviews, namespace: default}
                spec:
                  hosts: [reviews.default.svc.cluster.local]
                  http:
                  - headers: {request: {set: {x-capture-route: reviews-vs}}}
                    route: [{destination: {host: reviews.default.svc.cluster.local, port: {number: 9080}}}]
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: default}
                spec:
                  host: reviews.default.svc.cluster.local
                  trafficPolicy: {tls: {mode: DISABLE}}
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: default}
                spec: {mtls: {mode: DISABLE}}
                """.formatted(net));

        // The reviews application: plain HTTP on 0.0.0.0:9080 (service reviews), 9091 (service ratings, TCP) and
        // 7070 (no service).
        pods.app(reviews, "reviews-app", EchoApp.class, "9080", "9091", "7070");
        // Istio's rules in each pod, as its injector writes them: every outbound destination, every inbound port
        // (reviews); UID 1337 excluded.
        assertEquals(0, CapturedPods.iptables(productpage, "-i", "*"));
        assertEquals(0, CapturedPods.iptables(reviews, "-i", "*", "-b", "*"));
        pods.sidecar(productpage, pods.address(0), "productpage-v1", "productpage", "REDIRECT");
        pods.sidecar(reviews, pods.address(1), "reviews-v1", "reviews", "REDIRECT");
    }

    @AfterAll
    void stop() throws Exception {
        if (pods != null) {
            pods.close();
        }
    }

    @Test
    void anUnchangedClientReachesTheServiceThroughBothCapturedSidecars() throws Exception {
        String[] r = pods.awaitOk(productpage, "http://" + HOST + ":9080/reviews/1");
        String body = r[1];
        assertEquals("200", r[0], () -> body + "\n" + pods.logs());
        // The client's sidecar took the connection to the VIP (iptables REDIRECT to 15001, handed off to 0.0.0.0_9080)
        // and routed it by the VirtualService, which set this header.
        assertTrue(body.contains("\nx-capture-route: reviews-vs\n"), body);
        assertTrue(body.contains("\nhost: " + HOST + ":9080\n"), body);
        // The server's sidecar took it inbound (REDIRECT to 15006, chain of port 9080) and called the app on
        // 127.0.0.1: the app saw its own sidecar, not the client's address.
        assertTrue(body.startsWith("remote=127.0.0.1\nport=9080\n"), body);
        String stats = CapturedPods.admin(reviews, "/stats");
        assertTrue(stats.contains("cluster.inbound|9080||.upstream_rq_total: "), stats);
    }

    @Test
    void aTcpServiceIsHandedToTheListenerOfItsVip() throws Exception {
        pods.awaitOk(productpage, "http://" + HOST + ":9080/"); // the sidecars are up
        // ratings:9091 is a TCP service with its own VIP: the redirected connection goes to the listener
        // <VIP>_9091 (exact address), tcp_proxy to the endpoint, and reviews' inbound chain of port 9091.
        String[] r = CapturedPods.curl(productpage, "http://ratings:9091/tcp"); // LDS came whole with reviews
        assertEquals("200", r[0], () -> r[1] + "\n" + pods.logs());
        assertTrue(r[1].startsWith("remote=127.0.0.1\nport=9091\n"), r[1]);
        assertTrue(r[1].contains("\nhost: ratings:9091\n"), "bytes passed unchanged (no HTTP routing): " + r[1]);
        String client = CapturedPods.admin(productpage, "/stats");
        assertTrue(client.contains("cluster.outbound|9091||ratings.default.svc.cluster.local.upstream_cx_total: 1\n"),
                client);
    }

    @Test
    void aPortOutsideTheMeshPassesThroughBothSidecarsToTheOriginalDestination() throws Exception {
        pods.awaitOk(productpage, "http://" + HOST + ":9080/"); // the sidecars are up
        // 7070 is no service port. The client's virtualOutbound keeps the connection (ALLOW_ANY) and its
        // PassthroughCluster connects to the original destination; reviews captures it inbound (-b *), no chain takes
        // port 7070, and InboundPassthroughCluster connects to the original destination from 127.0.0.6, which the
        // rules let through to the app.
        String[] r = CapturedPods.curl(productpage, "http://" + net + "3:7070/other");
        assertEquals("200", r[0], () -> r[1] + "\n" + pods.logs());
        assertTrue(r[1].startsWith("remote=127.0.0.6\nport=7070\n"), r[1]);
        String client = CapturedPods.admin(productpage, "/stats");
        assertTrue(client.contains("cluster.PassthroughCluster.upstream_cx_total: 1\n"), client);
        String server = CapturedPods.admin(reviews, "/stats");
        assertTrue(server.contains("cluster.InboundPassthroughCluster.upstream_cx_total: 1\n"), server);
    }
}
