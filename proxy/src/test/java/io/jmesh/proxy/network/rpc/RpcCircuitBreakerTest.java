package io.jmesh.proxy.network.rpc;

import static io.jmesh.proxy.network.rpc.RpcPeers.id;
import static io.jmesh.proxy.network.rpc.RpcPeers.payload;
import static io.jmesh.proxy.network.rpc.RpcPeers.request;
import static io.jmesh.proxy.network.rpc.RpcPeers.server;
import static io.jmesh.proxy.network.rpc.RpcPeers.status;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.jmesh.codec.bolt.BoltResponse;
import io.jmesh.codec.bolt.BoltResponseStatus;
import io.jmesh.codec.dubbo.DubboResponse;
import io.jmesh.codec.dubbo.DubboStatus;
import io.jmesh.proxy.testing.AccessLogFiles;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.ProxyFixture;
import io.netty.util.ReferenceCountUtil;

/**
 * The rpc_proxy under the cluster's circuit breakers ({@code max_requests}) and outlier detection, end to end
 * over real sockets with codec-built clients and echo servers, for Bolt and for Dubbo.
 */
class RpcCircuitBreakerTest {

    /** Routes by service to a one-request cluster, an outlier-detecting pair, and a dead port that may not retry. */
    static Bootstraps config(RpcProtocol protocol, int a, int b, int dead, Path log) {
        return Bootstraps.rpc(protocol.protocolName())
                .statPrefix("test")
                .option("timeout", "20s")
                .accessLog(log, "%RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_CLUSTER% %RESPONSE_CODE_DETAILS%")
                .route("/com.example.Limited/", "limited")
                .route("/com.example.Pair/", "pair")
                .route("/com.example.NoRetry/", "noretry")
                .cluster("limited", a).circuitBreakers("limited", "max_requests: 1")
                .cluster("noretry", dead).circuitBreakers("noretry", "max_retries: 0")
                .cluster("pair", a, b).clusterOption("pair", "lb_policy", "ROUND_ROBIN")
                .outlierDetection("pair", "consecutive_5xx: 3, interval: 0.1s, base_ejection_time: 1s, max_ejection_percent: 100");
    }

    private final List<AutoCloseable> resources = new ArrayList<>();
    private RpcPeers.EchoServer a;
    private RpcPeers.EchoServer b;
    private ProxyFixture proxy;
    private Path log;

    private RpcPeers.Client start(RpcProtocol p, Path dir) throws Exception {
        a = new RpcPeers.EchoServer(p, "a");
        b = new RpcPeers.EchoServer(p, "b");
        resources.add(a);
        resources.add(b);
        log = dir.resolve("rpc.log");
        final int dead;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            dead = s.getLocalPort();
        }
        proxy = config(p, a.port(), b.port(), dead, log).start(2);
        final RpcPeers.Client c = new RpcPeers.Client(p, proxy.port());
        resources.add(0, c);
        return c;
    }

    @AfterEach
    void tearDown() throws Exception {
        RpcPeers.closeAll(resources, proxy);
    }

    private static boolean ok(Object msg) {
        return status(msg) == (msg instanceof BoltResponse ? BoltResponseStatus.SUCCESS : DubboStatus.OK);
    }

    /** Calls and returns the answering server's name, or {@code error:<status>}; releases the response. */
    private static String call(RpcPeers.Client c, Object request) throws InterruptedException {
        final Object r = c.call(request);
        try {
            return ok(r) ? server(r) : "error:" + status(r);
        } finally {
            ReferenceCountUtil.release(r);
        }
    }

    /** Polls {@code condition} up to 10 s. */
    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        for (int i = 0; i < 1000; i++) {
            if (condition.getAsBoolean()) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("not within 10 s: " + what);
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void callOverMaxRequestsGetsServerBusyUntilTheFirstCompletes(RpcProtocol p, @TempDir Path dir) throws Exception {
        final RpcPeers.Client c = start(p, dir);
        c.send(request(p, 1, false, 0, "com.example.Limited", "echo", Map.of("sleep", "hold"), "first"));
        await(() -> a.receivedIds.size() == 1, "the first call reaches the server");
        assertEquals(1, proxy.gauge("cluster.limited.circuit_breakers.default.rq_open"));

        final Object busy = c.call(request(p, 2, false, 0, "com.example.Limited", "echo", Map.of(), "second"));
        try {
            assertEquals(2, id(busy));
            assertEquals(p == RpcProtocol.BOLT ? BoltResponseStatus.SERVER_THREADPOOL_BUSY
                                               : DubboStatus.SERVER_THREADPOOL_EXHAUSTED_ERROR, status(busy));
        } finally {
            ReferenceCountUtil.release(busy);
        }
        assertEquals(1, a.receivedIds.size(), "the refused call never went upstream");
        assertEquals(1, proxy.counter("cluster.limited.upstream_rq_pending_overflow"));

        a.releaseHeld();
        final Object first = c.take();
        try {
            assertEquals(1, id(first));
            assertTrue(ok(first));
            assertTrue(payload(first).contains("first"), payload(first));
        } finally {
            ReferenceCountUtil.release(first);
        }
        // The slot went back with the first call's end: the next call goes through.
        assertEquals("a", call(c, request(p, 3, false, 0, "com.example.Limited", "echo", Map.of(), "third")));
        await(() -> proxy.gauge("cluster.limited.circuit_breakers.default.rq_open") == 0, "the third call's slot is released");
        assertEquals(1, proxy.counter("cluster.limited.upstream_rq_pending_overflow"));

        final String okCode = p == RpcProtocol.BOLT ? "0" : "20";
        final String busyCode = p == RpcProtocol.BOLT ? "4" : "100";
        assertEquals(List.of(busyCode + " UO limited upstream_reset_before_response_started{overflow}",
                             okCode + " - limited via_upstream",
                             okCode + " - limited via_upstream"),
                     AccessLogFiles.awaitLines(log, 3));
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void retryOverMaxRetriesIsNotMade(RpcProtocol p, @TempDir Path dir) throws Exception {
        final RpcPeers.Client c = start(p, dir);
        assertEquals("error:" + (p == RpcProtocol.BOLT ? BoltResponseStatus.CLIENT_SEND_ERROR : DubboStatus.CHANNEL_INACTIVE),
                     call(c, request(p, 1, false, 0, "com.example.NoRetry", "echo", Map.of(), "x")));
        assertEquals(1, proxy.counter("cluster.noretry.upstream_rq_retry_overflow"));
        assertEquals(0, proxy.counter("cluster.noretry.upstream_rq_retry"));
        final String notSent = p == RpcProtocol.BOLT ? "8" : "35";
        assertEquals(List.of(notSent + " UF,UO noretry upstream_reset_before_response_started{connection_failure}"),
                     AccessLogFiles.awaitLines(log, 1));
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void hostAnsweringServerErrorsIsEjectedThenComesBack(RpcProtocol p, @TempDir Path dir) throws Exception {
        final RpcPeers.Client c = start(p, dir);
        a.serverError = true;
        final int[] id = { 0 };
        final String serverError = "error:" + (p == RpcProtocol.BOLT ? BoltResponseStatus.SERVER_EXCEPTION
                                                                      : DubboStatus.SERVER_ERROR);
        // Round robin sends every other call to a until its third consecutive error ejects it; then only b answers.
        final int[] onlyB = { 0 };
        await(() -> {
            try {
                final String who = call(c, request(p, ++id[0], false, 0, "com.example.Pair", "echo", Map.of(), "x"));
                assertTrue(who.equals("b") || who.equals(serverError), who);
                onlyB[0] = who.equals("b") ? onlyB[0] + 1 : 0;
                return onlyB[0] >= 10;
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }, "ten calls in a row answered by b");
        assertTrue(proxy.counter("cluster.pair.outlier_detection.ejections_enforced_consecutive_5xx") >= 1);
        assertEquals(1, proxy.gauge("cluster.pair.outlier_detection.ejections_active"));
        assertTrue(proxy.counter("cluster.pair.upstream_rq_500") >= 3);

        // Healed, a comes back after base_ejection_time.
        a.serverError = false;
        await(() -> {
            try {
                return call(c, request(p, ++id[0], false, 0, "com.example.Pair", "echo", Map.of(), "y")).equals("a");
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }, "a answers again");
        assertEquals(0, proxy.gauge("cluster.pair.outlier_detection.ejections_active"));
    }
}
