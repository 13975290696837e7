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
 * TPROXY mode for real: two "pods" (network namespaces made by the test, linked by a veth pair): {@code client}
 * (10.252.N.2, rules {@code jmesh iptables -i '*'}, its sidecar {@code INTERCEPTION_MODE=REDIRECT}) and
 * {@code server} (10.252.N.3, rules {@code jmesh iptables -m TPROXY -b '*'} with the policy route, its sidecar
 * {@code INTERCEPTION_MODE=TPROXY} with {@code CAP_NET_ADMIN} for its transparent sockets). Both sidecars run as UID
 * 1337 and follow discovery (in this JVM, over a veth of each pod; {@link CapturedPods}). The applications are
 * unchanged: curl in the client, {@link EchoApp} (which tells the address it saw) in the server. Skipped (with the
 * reason) unless root with ip, iptables and setpriv.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TproxyCaptureTest {

    private CapturedPods pods;
    private String net;
    private String client;
    private String server;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        pods = CapturedPods.open("jmtpx", 252, dir);
        net = pods.net();
        String[] ns = pods.pods(net + "100 reviews.default.svc.cluster.local reviews\n" + net + "101 ratings\n",
                "cl", "sv");
        client = ns[0];
        server = ns[1];
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
                spec: {address: %1$s3, labels: {app: reviews}}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: reviews, namespace: default}
                spec:
                  hosts: [reviews.default.svc.cluster.local]
                  http:
                  - headers: {request: {set: {x-capture-route: reviews-vs}}}
                    route: [{destination: {host: reviews.default.svc.cluster.local}}]
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: default}
                spec: {mtls: {mode: DISABLE}}
                """.formatted(net));

        pods.app(server, "server-app", EchoApp.class, "9080", "9091", "7070");
        assertEquals(0, CapturedPods.iptables(client, "-i", "*"));
        assertEquals(0, CapturedPods.iptables(server, "-m", "TPROXY", "-b", "*"));
        pods.sidecar(client, pods.address(0), "client-v1", "client", "REDIRECT");
        pods.sidecar(server, pods.address(1), "reviews-v1", "reviews", "TPROXY");
    }

    @AfterAll
    void stop() throws Exception {
        if (pods != null) {
            pods.close();
        }
    }

    @Test
    void aTcpConnectionReachesTheAppFromTheClientsOwnAddress() throws Exception {
        // ratings:9091 (TCP): the client's sidecar takes it (REDIRECT to 15001, listener <VIP>_9091) and connects
        // to the server pod from 10.252.N.2; the server's rules TPROXY it to virtualInbound (transparent), whose
        // original_src makes the connection to the app on 127.0.0.1 come from that same address.
        String[] r = pods.awaitOk(client, "http://ratings:9091/tcp");
        assertTrue(r[1].startsWith("remote=" + net + "2\nport=9091\n"), () -> r[1] + "\n" + pods.logs());
        String stats = CapturedPods.admin(server, "/stats");
        assertTrue(stats.contains("cluster.inbound|9091||.upstream_cx_total: "), () -> pods.logs());
    }

    @Test
    void httpIsRoutedAndReachesTheAppFromTheSidecar() throws Exception {
        // HTTP 9080: routed by the VirtualService on the client's side, captured by TPROXY on the server's; HTTP
        // upstream connections are pooled across clients, so original_src does not apply: the app sees 127.0.0.1.
        String[] r = pods.awaitOk(client, "http://reviews.default.svc.cluster.local:9080/h");
        assertTrue(r[1].startsWith("remote=127.0.0.1\nport=9080\n"), r[1]);
        assertTrue(r[1].contains("\nx-capture-route: reviews-vs\n"), r[1]);
    }

    @Test
    void aPortOutsideTheMeshPassesThroughFrom127_0_0_6() throws Exception {
        pods.awaitOk(client, "http://ratings:9091/up"); // the sidecars are up
        // 7070 is no service port: the server's TPROXY chain takes it, no filter chain matches, and
        // InboundPassthroughCluster connects to the original destination from its own 127.0.0.6.
        String[] r = pods.awaitOk(client, "http://" + net + "3:7070/other");
        assertTrue(r[1].startsWith("remote=127.0.0.6\nport=7070\n"), r[1]);
        String stats = CapturedPods.admin(server, "/stats");
        assertTrue(stats.contains("cluster.InboundPassthroughCluster.upstream_cx_total: 1\n"), () -> pods.logs());
    }
}
