package io.jmesh.it.rpc;

import static io.jmesh.it.rpc.RpcMesh.await;
import static io.jmesh.it.rpc.RpcMesh.counter;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.server.ProxyServer;

/**
 * The two-sidecar contract, for each RPC protocol with its real apps: two providers ({@code <app>-blue},
 * {@code <app>-green}; child JVMs, each with its own sidecar and loopback IP) register in a real ZooKeeper with their
 * sidecar's address; {@code jmesh discovery} finds them there; a consumer in this JVM calls its own sidecar's
 * outbound listener. A VirtualService sends calls carrying {@code x-canary: yes} (a Dubbo attachment, a Bolt
 * header-map entry) to green and splits the others 80/20 blue/green, with DestinationRule subsets by the
 * {@code application} label that the ZooKeeper registry gives (Dubbo's version and group are part of the service
 * key, and SOFARPC sends every version as {@code 1.0}, so two "versions" of one consumer's service differ by
 * application here).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class AbstractTwoSidecarsTest {

    private RpcMesh mesh;
    private ProxyServer blueSidecar;
    private ProxyServer greenSidecar;
    private ProxyServer consumerSidecar;
    private int bluePort;
    private int greenPort;

    private final String app;
    private final Class<?> service;
    private final String method;
    private final Class<?> providerMain;
    private final boolean curator4;
    private final int servicePort;
    private final int firstIp;
    private final boolean mutualTls;

    /**
     * @param app          the application name prefix: providers are {@code <app>-blue} and {@code <app>-green}
     * @param service      the interface
     * @param method       the method the consumer calls
     * @param providerMain the provider's {@code main} (arguments: ZooKeeper, registered IP, port, application)
     * @param curator4     whether the provider needs Curator 4 (SOFARPC)
     * @param servicePort  the protocol's service port (the consumer sidecar's outbound listener)
     * @param firstIp      the last byte of the first of the three loopback IPs used (blue, green, consumer)
     */
    AbstractTwoSidecarsTest(String app, Class<?> service, String method, Class<?> providerMain, boolean curator4,
                            int servicePort, int firstIp) {
        this(app, service, method, providerMain, curator4, servicePort, firstIp, false);
    }

    /**
     * As above; with {@code mutualTls} the mesh runs STRICT mutual TLS between the sidecars as Istio does: discovery
     * runs the CA, each sidecar its node agent (a SPIFFE certificate for its application's name as service
     * account), a mesh-wide PeerAuthentication is STRICT and the DestinationRule asks for ISTIO_MUTUAL.
     */
    AbstractTwoSidecarsTest(String app, Class<?> service, String method, Class<?> providerMain, boolean curator4,
                            int servicePort, int firstIp, boolean mutualTls) {
        this.mutualTls = mutualTls;
        this.app = app;
        this.service = service;
        this.method = method;
        this.providerMain = providerMain;
        this.curator4 = curator4;
        this.servicePort = servicePort;
        this.firstIp = firstIp;
    }

    /** Starts the real consumer, calling {@code sidecar}. */
    abstract void startConsumer(InetSocketAddress sidecar) throws Exception;

    /** Stops the consumer. */
    abstract void stopConsumer();

    /** One call of {@link #method} with {@code name} (and {@code x-canary: yes} when asked); the answer. */
    abstract String call(String name, boolean canary);

    /** Malformed frames of each kind: bad magic or protocol byte, over-limit length, unreadable content. */
    abstract byte[][] malformedFrames();

    private String ip(int i) {
        return "127.0.0." + (firstIp + i);
    }

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        final String host = service.getName().toLowerCase(java.util.Locale.ROOT);
        final String security = !mutualTls ? "" : """
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: istio-system}
                spec: {mtls: {mode: STRICT}}
                ---
                """;
        final List<String> identities = !mutualTls ? List.of()
                : List.of(app + "-blue", app + "-green", app + "-consumer");
        mesh = RpcMesh.start(dir, security + """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: canary, namespace: default}
                spec:
                  host: %1$s
                  %3$s
                  subsets:
                  - {name: blue, labels: {application: %2$s-blue}}
                  - {name: green, labels: {application: %2$s-green}}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: canary, namespace: default}
                spec:
                  hosts: [%1$s]
                  http:
                  - match: [{headers: {x-canary: {exact: "yes"}}}]
                    route: [{destination: {host: %1$s, subset: green}}]
                  - route:
                    - {destination: {host: %1$s, subset: blue}, weight: 80}
                    - {destination: {host: %1$s, subset: green}, weight: 20}
                """.formatted(host, app, mutualTls ? "trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}" : ""), identities);
        bluePort = RpcMesh.freePort();
        greenPort = RpcMesh.freePort();
        mesh.provider(app + "-blue", providerMain, curator4, ip(0), bluePort);
        mesh.provider(app + "-green", providerMain, curator4, ip(1), greenPort);
        blueSidecar = mesh.providerSidecar(app + "-blue", ip(0));
        greenSidecar = mesh.providerSidecar(app + "-green", ip(1));
        consumerSidecar = mesh.consumerSidecar(app + "-consumer", ip(2));
        RpcMesh.inbound(blueSidecar, ip(0), bluePort);
        RpcMesh.inbound(greenSidecar, ip(1), greenPort);
        startConsumer(RpcMesh.outbound(consumerSidecar, servicePort));
        await("a first call through both sidecars", () -> {
            try {
                return call("warm-up", false).contains(" warm-up");
            } catch (RuntimeException e) {
                return false; // endpoints not pushed yet
            }
        });
    }

    @AfterAll
    void stop() throws Exception {
        stopConsumer();
        if (mesh != null) {
            mesh.close();
        }
    }

    /** The provider sidecar's inbound listener of the blue provider (for tests of what it accepts). */
    InetSocketAddress blueInbound() throws InterruptedException {
        return RpcMesh.inbound(blueSidecar, ip(0), bluePort);
    }

    private static long inbound(ProxyServer sidecar, int port) {
        return counter(sidecar, "rpc.inbound_0.0.0.0_" + port + ".", ".request_total")
                - counter(sidecar, "rpc.inbound_0.0.0.0_" + port + ".service.", ".request_total");
    }

    /** Makes {@code n} calls; answers counted by the application that gave them. */
    private Map<String, Integer> calls(int n, boolean canary) {
        final Map<String, Integer> answers = new HashMap<>();
        for (int i = 0; i < n; i++) {
            final String answer = call("n" + i, canary);
            assertTrue(answer.startsWith(app + "-") && answer.contains(" n" + i), answer);
            answers.merge(answer.substring(0, answer.indexOf(' ')), 1, Integer::sum);
        }
        return answers;
    }

    @Test
    void callsGoThroughTheConsumersAndTheProvidersSidecars() {
        final String perMethod = ".service." + service.getName() + ".method." + method + ".request_total";
        final long out0 = counter(consumerSidecar, "rpc.outbound", perMethod);
        final long blue0 = inbound(blueSidecar, bluePort);
        final long green0 = inbound(greenSidecar, greenPort);
        final long blueMethod0 = counter(blueSidecar, "rpc.inbound_", perMethod);

        final Map<String, Integer> answers = calls(100, false);

        final long blue = answers.getOrDefault(app + "-blue", 0);
        assertEquals(100, counter(consumerSidecar, "rpc.outbound", perMethod) - out0);
        assertEquals(blue, inbound(blueSidecar, bluePort) - blue0, answers.toString());
        assertEquals(100 - blue, inbound(greenSidecar, greenPort) - green0, answers.toString());
        assertEquals(blue, counter(blueSidecar, "rpc.inbound_", perMethod) - blueMethod0);
    }

    @Test
    void weightsSplitCallsBetweenSubsets() {
        final Map<String, Integer> answers = calls(500, false);
        final int green = answers.getOrDefault(app + "-green", 0);
        // 20% of 500 = 100, standard deviation ~9: [60, 140] is more than 4 deviations either side.
        assertTrue(green >= 60 && green <= 140, answers.toString());
        assertEquals(500 - green, answers.getOrDefault(app + "-blue", 0), answers.toString());
    }

    @Test
    void aHeaderRoutesToItsSubset() {
        assertEquals(Map.of(app + "-green", 100), calls(100, true));
    }

    @Test
    void malformedFramesCloseTheirConnectionOnly() throws Exception {
        final InetSocketAddress listener = RpcMesh.outbound(consumerSidecar, servicePort);
        final long errors0 = counter(consumerSidecar, "rpc.", ".downstream_cx_protocol_error");
        final byte[][] frames = malformedFrames();
        for (byte[] frame : frames) {
            RpcMesh.assertClosesConnection(listener, frame);
        }
        await(frames.length + " protocol errors counted",
                () -> counter(consumerSidecar, "rpc.", ".downstream_cx_protocol_error") - errors0 == frames.length);
        assertEquals(20, calls(20, false).values().stream().mapToInt(Integer::intValue).sum());
    }
}
