package io.jmesh.it.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.cli.CapturedPods;
import io.jmesh.proxy.testing.Poll;

/**
 * Bolt and Dubbo through transparent capture, for real: three "pods", each a network namespace made by the test on one
 * subnet (a bridge in a fourth namespace): {@code client} (10.251.N.2) runs an unchanged SOFARPC consumer and an
 * unchanged Dubbo consumer ({@link CapturedRpcApps}) calling {@code bolt://reviews.default.svc.cluster.local:12200}
 * and {@code dubbo://reviews.default.svc.cluster.local:20880} (the name resolved by the namespace's
 * {@code /etc/hosts} to the service VIP, on which nothing listens); {@code v1} (.3) and {@code v2} (.4) each run an
 * unchanged provider of both. Every pod has Istio's rules from {@code jmesh iptables} (REDIRECT) and a
 * {@code jmesh proxy} sidecar as UID 1337 with {@code INTERCEPTION_MODE=REDIRECT}, following discovery (in this JVM,
 * reached over a veth of each pod; {@link CapturedPods}). A VirtualService sends GreetingService (Dubbo) calls to
 * subset v2 and all others (Bolt's HelloService) to subset v1. Skipped (with the reason) unless root with ip, iptables and setpriv.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RpcTransparentCaptureTest {

    private static final String HOST = "reviews.default.svc.cluster.local";
    private static final String CLUSTER_SUFFIX = "|reviews.default.svc.cluster.local";

    private final List<ChildJvm> apps = new ArrayList<>();
    private CapturedPods pods;
    private String client;
    private String v1;
    private String v2;
    private ChildJvm consumer;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        pods = CapturedPods.open("jmrpc", 251, dir);
        String net = pods.net();
        String vip = net + "100";
        String[] ns = pods.pods(vip + " " + HOST + " reviews\n", "cl", "v1", "v2");
        client = ns[0];
        v1 = ns[1];
        v2 = ns[2];
        pods.discovery("""
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: reviews, namespace: default}
                spec:
                  hosts: [reviews.default.svc.cluster.local]
                  addresses: [%1$s100]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports:
                  - {number: 12200, name: bolt, protocol: BOLT}
                  - {number: 20880, name: dubbo, protocol: DUBBO}
                  workloadSelector: {labels: {app: reviews}}
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: reviews-v1, namespace: default}
                spec: {address: %1$s3, labels: {app: reviews, version: v1}}
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: reviews-v2, namespace: default}
                spec: {address: %1$s4, labels: {app: reviews, version: v2}}
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: reviews, namespace: default}
                spec:
                  host: reviews.default.svc.cluster.local
                  trafficPolicy: {tls: {mode: DISABLE}}
                  subsets:
                  - {name: v1, labels: {version: v1}}
                  - {name: v2, labels: {version: v2}}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: reviews, namespace: default}
                spec:
                  hosts: [reviews.default.svc.cluster.local]
                  http:
                  - match: [{uri: {prefix: /io.jmesh.it.rpc.GreetingService/}}]
                    route: [{destination: {host: reviews.default.svc.cluster.local, subset: v2}}]
                  - route: [{destination: {host: reviews.default.svc.cluster.local, subset: v1}}]
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: default}
                spec: {mtls: {mode: DISABLE}}
                """.formatted(net));

        // Istio's rules in each pod, as its injector writes them: every outbound destination, every inbound port;
        // UID 1337 excluded.
        for (String pod : ns) {
            assertEquals(0, CapturedPods.iptables(pod, "-i", "*", "-b", "*"));
        }
        pods.sidecar(client, pods.address(0), "client-v1", "client", "REDIRECT");
        pods.sidecar(v1, pods.address(1), "reviews-v1", "reviews", "REDIRECT");
        pods.sidecar(v2, pods.address(2), "reviews-v2", "reviews", "REDIRECT");
        // Both providers at once (each start waits for its app to serve).
        CompletableFuture<ChildJvm> provider2 = CompletableFuture.supplyAsync(() -> provider(v2, "reviews-v2"));
        apps.add(provider(v1, "reviews-v1"));
        apps.add(provider2.join());
        // The consumers connect when they start: once the client's sidecar has the listeners of the VIP's ports.
        try {
            Poll.until(() -> CapturedPods.throttled()
                    && CapturedPods.admin(client, "/config_dump").contains("\"" + vip + "_20880\"")
                    && CapturedPods.admin(client, "/config_dump").contains("\"" + vip + "_12200\"")
                    && CapturedPods.admin(v1, "/ready").contains("LIVE")
                    && CapturedPods.admin(v2, "/ready").contains("LIVE"),
                    "the sidecars follow discovery", Duration.ofSeconds(90));
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n" + pods.logs(), e);
        }
        consumer = ChildJvm.start("client-app", netns(client), CapturedRpcApps.class, false, "consumer", HOST);
        apps.add(consumer);
    }

    private static ChildJvm provider(String ns, String application) {
        try {
            return ChildJvm.start(application + "-app", netns(ns), CapturedRpcApps.class, false, "provider",
                    application);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<String> netns(String ns) {
        return List.of("ip", "netns", "exec", ns);
    }

    @AfterAll
    void stop() throws Exception {
        for (ChildJvm app : apps) {
            app.close();
        }
        if (pods != null) {
            pods.close();
        }
    }

    /** The value of the counter {@code name} in a sidecar's {@code /stats}; 0 when absent. */
    private static long counter(String ns, String name) {
        for (String line : CapturedPods.admin(ns, "/stats").split("\n")) {
            if (line.startsWith(name + ": ")) {
                return Long.parseLong(line.substring(name.length() + 2).strip());
            }
        }
        return 0;
    }

    /** Asks the consumer for one call until it succeeds (the first connection may race the sidecars); the answer. */
    private String firstCall(String protocol) throws Exception {
        String[] last = {""};
        Poll.until(() -> {
            try {
                last[0] = consumer.ask(protocol + " warmup");
            } catch (Exception e) {
                last[0] = e.toString();
            }
            return last[0].startsWith("ok ");
        }, "a " + protocol + " call through both sidecars", Duration.ofSeconds(60));
        return last[0];
    }

    @Test
    void boltCallsAreCapturedRoutedBySubsetAndReceivedThroughTheProvidersInbound() throws Exception {
        firstCall("bolt");
        long out0 = counter(client, "cluster.outbound|12200|v1" + CLUSTER_SUFFIX + ".upstream_rq_total");
        long in0 = counter(v1, "rpc.inbound_0.0.0.0_12200.request_total");
        for (int i = 0; i < 5; i++) {
            // HelloService matches no rule but the last: subset v1, whatever the round robin would pick.
            assertEquals("ok reviews-v1 n" + i + " x1", consumer.ask("bolt n" + i), pods::logs);
        }
        assertEquals(5, counter(client, "cluster.outbound|12200|v1" + CLUSTER_SUFFIX + ".upstream_rq_total") - out0,
                () -> CapturedPods.admin(client, "/stats"));
        assertEquals(5, counter(v1, "rpc.inbound_0.0.0.0_12200.request_total") - in0,
                () -> CapturedPods.admin(v1, "/stats"));
        assertEquals(0, counter(v2, "rpc.inbound_0.0.0.0_12200.request_total"),
                () -> CapturedPods.admin(v2, "/stats"));
    }

    @Test
    void dubboCallsAreCapturedRoutedBySubsetAndReceivedThroughTheProvidersInbound() throws Exception {
        firstCall("dubbo");
        long out0 = counter(client, "cluster.outbound|20880|v2" + CLUSTER_SUFFIX + ".upstream_rq_total");
        long in0 = counter(v2, "rpc.inbound_0.0.0.0_20880.request_total");
        for (int i = 0; i < 5; i++) {
            // GreetingService's path matches the first rule: subset v2.
            assertEquals("ok reviews-v2 n" + i, consumer.ask("dubbo n" + i), pods::logs);
        }
        assertEquals(5, counter(client, "cluster.outbound|20880|v2" + CLUSTER_SUFFIX + ".upstream_rq_total") - out0,
                () -> CapturedPods.admin(client, "/stats"));
        assertEquals(5, counter(v2, "rpc.inbound_0.0.0.0_20880.request_total") - in0,
                () -> CapturedPods.admin(v2, "/stats"));
        assertEquals(0, counter(v1, "rpc.inbound_0.0.0.0_20880.request_total"),
                () -> CapturedPods.admin(v1, "/stats"));
    }
}
