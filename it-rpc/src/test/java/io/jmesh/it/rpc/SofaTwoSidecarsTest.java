package io.jmesh.it.rpc;

import static io.jmesh.it.rpc.RpcMesh.await;
import static io.jmesh.it.rpc.RpcMesh.counter;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.alipay.sofa.rpc.config.ConsumerConfig;
import com.alipay.sofa.rpc.context.RpcInvokeContext;

import io.jmesh.proxy.server.ProxyServer;

/**
 * Real SOFARPC apps through two sidecars: two providers of {@link HelloService} ({@code hello-blue},
 * {@code hello-green}; child JVMs, since SOFARPC's ZooKeeper registry needs Curator 4) register in a real
 * ZooKeeper with their sidecar's address ({@code ServerConfig.virtualHost}); discovery finds them; a consumer in
 * this JVM calls {@code bolt://127.0.0.1:<its sidecar's 12200 listener>}. A VirtualService sends calls with the
 * custom header {@code x-canary: yes} ({@code RpcInvokeContext.addCustomHeader}) to green and splits the others
 * 80/20 (subsets by the {@code application} label, SOFARPC's {@code appName}: SOFARPC sends every version as
 * {@code 1.0}).
 */
class SofaTwoSidecarsTest {

    static final String HOST = "io.jmesh.it.rpc.helloservice";

    @TempDir
    static Path dir;

    private static RpcMesh mesh;
    private static ProxyServer blueSidecar;
    private static ProxyServer greenSidecar;
    private static ProxyServer consumerSidecar;
    private static int bluePort;
    private static int greenPort;
    private static ConsumerConfig<HelloService> consumer;
    private static HelloService hello;

    @BeforeAll
    static void start() throws Exception {
        mesh = RpcMesh.start(dir, DubboTwoSidecarsTest.MESH.replace(DubboTwoSidecarsTest.HOST, HOST)
                .replace("greeting-", "hello-"));
        bluePort = RpcMesh.freePort();
        greenPort = RpcMesh.freePort();
        mesh.provider("hello-blue", SofaProviderMain.class, true, "127.0.0.23", bluePort);
        mesh.provider("hello-green", SofaProviderMain.class, true, "127.0.0.24", greenPort);
        blueSidecar = mesh.providerSidecar("hello-blue", "127.0.0.23");
        greenSidecar = mesh.providerSidecar("hello-green", "127.0.0.24");
        consumerSidecar = mesh.consumerSidecar("hello-consumer", "127.0.0.32");
        RpcMesh.inbound(blueSidecar, "127.0.0.23", bluePort);
        RpcMesh.inbound(greenSidecar, "127.0.0.24", greenPort);
        consumer = SofaApps.consumer(RpcMesh.outbound(consumerSidecar, RpcMesh.BOLT_PORT));
        hello = consumer.refer();
        await("a first call through both sidecars", () -> {
            try {
                return hello.sayHello("warm-up", 1).endsWith(" warm-up x1");
            } catch (RuntimeException e) {
                return false; // endpoints not pushed yet
            }
        });
    }

    @AfterAll
    static void stop() throws Exception {
        if (consumer != null) {
            consumer.unRefer();
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
                RpcInvokeContext.getContext().addCustomHeader("x-canary", "yes");
            }
            try {
                final String answer = hello.sayHello("n" + i, 2);
                assertTrue(answer.endsWith(" n" + i + " x2"), answer);
                answers.merge(answer.substring(0, answer.indexOf(' ')), 1, Integer::sum);
            } finally {
                RpcInvokeContext.removeContext();
            }
        }
        return answers;
    }

    @Test
    void callsGoThroughTheConsumersAndTheProvidersSidecars() {
        final String method = ".method.sayHello.request_total";
        final long out0 = counter(consumerSidecar, "rpc.outbound", method);
        final long blue0 = inbound(blueSidecar, bluePort);
        final long green0 = inbound(greenSidecar, greenPort);
        final long blueMethod0 = counter(blueSidecar, "rpc.inbound_", method);

        final Map<String, Integer> answers = call(100, false);

        assertEquals(100, counter(consumerSidecar, "rpc.outbound", method) - out0);
        assertEquals((long) answers.getOrDefault("hello-blue", 0), inbound(blueSidecar, bluePort) - blue0,
                answers.toString());
        assertEquals((long) answers.getOrDefault("hello-green", 0), inbound(greenSidecar, greenPort) - green0,
                answers.toString());
        assertEquals((long) answers.getOrDefault("hello-blue", 0),
                counter(blueSidecar, "rpc.inbound_", method) - blueMethod0);
    }

    @Test
    void weightsSplitCallsBetweenSubsets() {
        final Map<String, Integer> answers = call(500, false);
        final int green = answers.getOrDefault("hello-green", 0);
        // 20% of 500 = 100, standard deviation ~9: [60, 140] is more than 4 deviations either side.
        assertTrue(green >= 60 && green <= 140, answers.toString());
        assertEquals(500 - green, answers.getOrDefault("hello-blue", 0), answers.toString());
    }

    @Test
    void aCustomHeaderRoutesToItsSubset() {
        assertEquals(Map.of("hello-green", 100), call(100, true));
    }

    /** A Bolt v1 request header (22 bytes): proto, type, cmdcode, ver2, id, codec, timeout, lengths. */
    private static java.nio.ByteBuffer boltRequest(int capacity, int id, int classLength, int headerLength,
                                                   int contentLength) {
        return java.nio.ByteBuffer.allocate(capacity).put((byte) 1).put((byte) 1).putShort((short) 1).put((byte) 1)
                .putInt(id).put((byte) 1).putInt(3000).putShort((short) classLength).putShort((short) headerLength)
                .putInt(contentLength);
    }

    @Test
    void malformedFramesCloseTheirConnectionOnly() throws Exception {
        final java.net.InetSocketAddress listener = RpcMesh.outbound(consumerSidecar, RpcMesh.BOLT_PORT);
        final long errors0 = counter(consumerSidecar, "rpc.", ".downstream_cx_protocol_error");
        final byte[] badProto = boltRequest(22, 1, 0, 0, 0).array();
        badProto[0] = 7;
        final byte[] overLimit = boltRequest(22, 2, 0, 0, Integer.MAX_VALUE).array();
        // a header map whose first key claims 2 GiB inside an 8-byte map
        final byte[] garbage = boltRequest(30, 3, 0, 8, 0).putInt(Integer.MAX_VALUE).putInt(0).array();
        RpcMesh.assertClosesConnection(listener, badProto);
        RpcMesh.assertClosesConnection(listener, overLimit);
        RpcMesh.assertClosesConnection(listener, garbage);
        await("three protocol errors counted",
                () -> counter(consumerSidecar, "rpc.", ".downstream_cx_protocol_error") - errors0 == 3);
        assertEquals(20, call(20, false).values().stream().mapToInt(Integer::intValue).sum());
    }
}
