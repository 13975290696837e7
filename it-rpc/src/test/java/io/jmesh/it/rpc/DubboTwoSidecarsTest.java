package io.jmesh.it.rpc;

import static io.jmesh.it.rpc.RpcMesh.await;
import static io.jmesh.it.rpc.RpcMesh.counter;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.rpc.RpcContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.server.ProxyServer;

/**
 * Real Dubbo 3 apps through two sidecars: two providers of {@link GreetingService} (applications
 * {@code greeting-blue} and {@code greeting-green}, each a child JVM with its own sidecar) register in a real
 * ZooKeeper with their sidecar's address; {@code jmesh discovery} finds them there; a consumer in this JVM calls
 * {@code dubbo://127.0.0.1:<its sidecar's 20880 listener>}. A VirtualService sends calls with the attachment
 * {@code x-canary: yes} to green and splits the others 80/20 blue/green (DestinationRule subsets by the
 * {@code application} label the ZooKeeper registry gives: Dubbo's version and group are part of the service key,
 * so a consumer of 1.0.0 cannot be routed to a 2.0.0 provider).
 */
class DubboTwoSidecarsTest {

    static final String HOST = "io.jmesh.it.rpc.greetingservice";
    static final String MESH = """
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: greeting, namespace: default}
            spec:
              host: %1$s
              subsets:
              - {name: blue, labels: {application: greeting-blue}}
              - {name: green, labels: {application: greeting-green}}
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: greeting, namespace: default}
            spec:
              hosts: [%1$s]
              http:
              - match: [{headers: {x-canary: {exact: "yes"}}}]
                route: [{destination: {host: %1$s, subset: green}}]
              - route:
                - {destination: {host: %1$s, subset: blue}, weight: 80}
                - {destination: {host: %1$s, subset: green}, weight: 20}
            """.formatted(HOST);

    @TempDir
    static Path dir;

    private static RpcMesh mesh;
    private static ProxyServer blueSidecar;
    private static ProxyServer greenSidecar;
    private static ProxyServer consumerSidecar;
    private static int bluePort;
    private static int greenPort;
    private static DubboBootstrap consumer;
    private static GreetingService greeting;

    @BeforeAll
    static void start() throws Exception {
        mesh = RpcMesh.start(dir, MESH);
        bluePort = RpcMesh.freePort();
        greenPort = RpcMesh.freePort();
        mesh.provider("greeting-blue", DubboProviderMain.class, false, "127.0.0.21", bluePort);
        mesh.provider("greeting-green", DubboProviderMain.class, false, "127.0.0.22", greenPort);
        blueSidecar = mesh.providerSidecar("greeting-blue", "127.0.0.21");
        greenSidecar = mesh.providerSidecar("greeting-green", "127.0.0.22");
        consumerSidecar = mesh.consumerSidecar("greeting-consumer", "127.0.0.31");
        RpcMesh.inbound(blueSidecar, "127.0.0.21", bluePort);
        RpcMesh.inbound(greenSidecar, "127.0.0.22", greenPort);
        final ReferenceConfig<GreetingService> reference = new ReferenceConfig<>();
        consumer = DubboApps.consumer(RpcMesh.outbound(consumerSidecar, RpcMesh.DUBBO_PORT), reference);
        greeting = reference.get();
        await("a first call through both sidecars", () -> {
            try {
                return greeting.greet("warm-up").endsWith(" warm-up");
            } catch (RuntimeException e) {
                return false; // endpoints not pushed yet
            }
        });
    }

    @AfterAll
    static void stop() throws Exception {
        if (consumer != null) {
            consumer.stop();
        }
        if (mesh != null) {
            mesh.close();
        }
    }

    private static long inbound(ProxyServer sidecar, int port) {
        return counter(sidecar, "rpc.inbound_0.0.0.0_" + port + ".", ".request_total")
                - counter(sidecar, "rpc.inbound_0.0.0.0_" + port + ".service.", ".request_total");
    }

    private static Map<String, Integer> call(int n, boolean canary) {
        final Map<String, Integer> answers = new HashMap<>();
        for (int i = 0; i < n; i++) {
            if (canary) {
                RpcContext.getClientAttachment().setAttachment("x-canary", "yes");
            }
            final String answer = greeting.greet("n" + i);
            assertTrue(answer.endsWith(" n" + i), answer);
            answers.merge(answer.substring(0, answer.indexOf(' ')), 1, Integer::sum);
        }
        return answers;
    }

    @Test
    void callsGoThroughTheConsumersAndTheProvidersSidecars() {
        final long out0 = counter(consumerSidecar, "rpc.", ".service.io.jmesh.it.rpc.GreetingService.method.greet.request_total");
        final long blue0 = inbound(blueSidecar, bluePort);
        final long green0 = inbound(greenSidecar, greenPort);
        final long blueMethod0 = counter(blueSidecar, "rpc.inbound_", ".GreetingService.method.greet.request_total");

        final Map<String, Integer> answers = call(100, false);

        assertEquals(100, counter(consumerSidecar, "rpc.",
                ".service.io.jmesh.it.rpc.GreetingService.method.greet.request_total") - out0);
        assertEquals((long) answers.getOrDefault("greeting-blue", 0), inbound(blueSidecar, bluePort) - blue0, answers.toString());
        assertEquals((long) answers.getOrDefault("greeting-green", 0), inbound(greenSidecar, greenPort) - green0,
                answers.toString());
        assertEquals((long) answers.getOrDefault("greeting-blue", 0),
                counter(blueSidecar, "rpc.inbound_", ".GreetingService.method.greet.request_total") - blueMethod0);
    }

    @Test
    void weightsSplitCallsBetweenSubsets() {
        final Map<String, Integer> answers = call(500, false);
        final int green = answers.getOrDefault("greeting-green", 0);
        // 20% of 500 = 100, standard deviation ~9: [60, 140] is more than 4 deviations either side.
        assertTrue(green >= 60 && green <= 140, answers.toString());
        assertEquals(500 - green, answers.getOrDefault("greeting-blue", 0), answers.toString());
    }

    @Test
    void anAttachmentRoutesToItsSubset() {
        assertEquals(Map.of("greeting-green", 100), call(100, true));
    }

    @Test
    void malformedFramesCloseTheirConnectionOnly() throws Exception {
        final java.net.InetSocketAddress listener = RpcMesh.outbound(consumerSidecar, RpcMesh.DUBBO_PORT);
        final long errors0 = counter(consumerSidecar, "rpc.", ".downstream_cx_protocol_error");
        final java.nio.ByteBuffer overLimit = java.nio.ByteBuffer.allocate(16)
                .putShort((short) 0xdabb).put((byte) 0xc2).put((byte) 0).putLong(1).putInt(Integer.MAX_VALUE);
        final java.nio.ByteBuffer garbage = java.nio.ByteBuffer.allocate(24)
                .putShort((short) 0xdabb).put((byte) 0xc2).put((byte) 0).putLong(2).putInt(8)
                .putLong(0xffff_ffff_ffff_ffffL); // not a Hessian2 invocation
        RpcMesh.assertClosesConnection(listener, new byte[] { (byte) 0xca, (byte) 0xfe, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0, 0 }); // bad magic
        RpcMesh.assertClosesConnection(listener, overLimit.array());
        RpcMesh.assertClosesConnection(listener, garbage.array());
        await("three protocol errors counted",
                () -> counter(consumerSidecar, "rpc.", ".downstream_cx_protocol_error") - errors0 == 3);
        assertEquals(20, call(20, false).values().stream().mapToInt(Integer::intValue).sum());
    }
}
