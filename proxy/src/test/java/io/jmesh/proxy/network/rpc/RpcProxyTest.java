package io.jmesh.proxy.network.rpc;

import static io.jmesh.proxy.network.rpc.RpcPeers.id;
import static io.jmesh.proxy.network.rpc.RpcPeers.payload;
import static io.jmesh.proxy.network.rpc.RpcPeers.request;
import static io.jmesh.proxy.network.rpc.RpcPeers.server;
import static io.jmesh.proxy.network.rpc.RpcPeers.status;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.jmesh.codec.bolt.BoltMessage;
import io.jmesh.codec.bolt.BoltRequest;
import io.jmesh.codec.bolt.BoltResponse;
import io.jmesh.codec.bolt.BoltResponseStatus;
import io.jmesh.codec.dubbo.DubboRequest;
import io.jmesh.codec.dubbo.DubboResponse;
import io.jmesh.codec.dubbo.DubboStatus;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.ProxyFixture;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ReferenceCountUtil;

/**
 * The rpc_proxy filter end to end over real sockets: a client built with the codec, the proxy, and two
 * echo servers built with the codec, for Bolt and for Dubbo.
 */
class RpcProxyTest {

    /**
     * Routes by service ({@code com.example.Echo}: to b by path or header, else a) and by path for the others:
     * weighted a/b, a short route timeout, a missing cluster, a dead port, a round-robin pair, a service header.
     */
    static Bootstraps config(RpcProtocol protocol, int a, int b, int dead) {
        return Bootstraps.rpc(protocol.protocolName())
                .statPrefix("test")
                .virtualHost("echo", "com.example.Echo")
                .route("/com.example.Echo/toB", "b")
                .routeYaml("{ match: { prefix: \"/\", headers: [{ name: x-color, string_match: { exact: blue } }] },"
                        + " route: { cluster: b } }")
                .route("/", "a")
                .virtualHost("others", "*")
                .routeYaml("{ match: { prefix: \"/com.example.Weighted/\" },"
                        + " route: { weighted_clusters: { clusters: [{ name: a, weight: 1 }, { name: b, weight: 1 }] } } }")
                .routeYaml("{ match: { prefix: \"/com.example.Slow/\" }, route: { cluster: a, timeout: 0.2s } }")
                .route("/com.example.Missing/", "nope")
                .route("/com.example.Dead/", "dead")
                .route("/com.example.Both/", "both")
                .routeYaml("{ match: { prefix: \"/\", headers: [{ name: service, string_match: { exact: \"com.example.ByService\" } }] },"
                        + " route: { cluster: b } }")
                .cluster("a", a)
                .cluster("b", b)
                .cluster("dead", dead)
                .cluster("both", a, b).clusterOption("both", "lb_policy", "ROUND_ROBIN");
    }

    private final List<AutoCloseable> resources = new ArrayList<>();
    private RpcPeers.EchoServer a;
    private RpcPeers.EchoServer b;
    private ProxyFixture proxy;

    private ProxyFixture start(RpcProtocol protocol) throws Exception {
        return start(protocol, rpc -> rpc.option("timeout", "20s"));
    }

    /** Starts the servers and the proxy; {@code filterOptions} sets the filter's timeout (or not) and more. */
    private ProxyFixture start(RpcProtocol protocol, UnaryOperator<Bootstraps> filterOptions) throws Exception {
        a = new RpcPeers.EchoServer(protocol, "a");
        b = new RpcPeers.EchoServer(protocol, "b");
        resources.add(a);
        resources.add(b);
        final int dead;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            dead = s.getLocalPort();
        }
        proxy = filterOptions.apply(config(protocol, a.port(), b.port(), dead)).start(2);
        return proxy;
    }

    private RpcPeers.Client client(RpcProtocol protocol) throws InterruptedException {
        final RpcPeers.Client c = new RpcPeers.Client(protocol, proxy.port());
        resources.add(0, c);
        return c;
    }

    @AfterEach
    void tearDown() throws Exception {
        RpcPeers.closeAll(resources, proxy);
    }

    private static int ok(RpcProtocol p) {
        return p == RpcProtocol.BOLT ? BoltResponseStatus.SUCCESS : DubboStatus.OK;
    }

    /** Calls and returns {@code server + ":" + status}, releasing the response. */
    private static String callServer(RpcPeers.Client c, Object request) throws InterruptedException {
        final Object r = c.call(request);
        try {
            return server(r) + ':' + status(r);
        } finally {
            ReferenceCountUtil.release(r);
        }
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void routesByServiceMethodAndHeader(RpcProtocol p) throws Exception {
        start(p);
        final RpcPeers.Client c = client(p);
        final int okStatus = ok(p);
        assertEquals("a:" + okStatus, callServer(c, request(p, 1, false, 0, "com.example.Echo", "echo", Map.of(), "x")));
        assertEquals("b:" + okStatus, callServer(c, request(p, 2, false, 0, "com.example.Echo", "toB", Map.of(), "x")));
        assertEquals("b:" + okStatus, callServer(c, request(p, 3, false, 0, "com.example.Echo", "echo",
                                                            Map.of("x-color", "blue"), "x")));
        assertEquals("a:" + okStatus, callServer(c, request(p, 4, false, 0, "com.example.Echo", "echo",
                                                            Map.of("x-color", "red"), "x")));
        // The "service" header: Bolt interface:version, Dubbo the service path.
        final Map<String, String> svc = p == RpcProtocol.BOLT
                ? Map.of(BoltMessage.HEADER_SERVICE, "com.example.ByService") : Map.of();
        assertEquals("b:" + okStatus, callServer(c, request(p, 5, false, 0,
                p == RpcProtocol.BOLT ? "com.example.Other" : "com.example.ByService", "echo", svc, "x")));
        assertEquals(5, proxy.counter("rpc.test.request_total"));
        assertEquals(4, proxy.counter("rpc.test.service.com.example.Echo.request_total"));
        assertEquals(1, proxy.counter("rpc.test.service.com.example.Echo.method.toB.request_total"));
        assertEquals(0, proxy.counter("rpc.test.local_reply"));
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void weightedClustersSpreadCalls(RpcProtocol p) throws Exception {
        start(p);
        final RpcPeers.Client c = client(p);
        final Map<String, Integer> byServer = new HashMap<>();
        for (int i = 0; i < 200; i++) {
            byServer.merge(callServer(c, request(p, i + 1, false, 0, "com.example.Weighted", "echo", Map.of(), "w")),
                           1, Integer::sum);
        }
        final int okStatus = ok(p);
        assertEquals(Set.of("a:" + okStatus, "b:" + okStatus), byServer.keySet(), byServer.toString());
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void remapsIdsOfManyConcurrentCallsOnOneConnection(RpcProtocol p) throws Exception {
        start(p);
        final RpcPeers.Client c1 = client(p);
        final RpcPeers.Client c2 = client(p);
        final int n = 300;
        // Both clients use the same ids; the proxy must keep their calls apart.
        for (int i = 1; i <= n; i++) {
            c1.send(request(p, i, false, 0, "com.example.Echo", "echo", Map.of(), "c1-payload-" + i + "."));
            c2.send(request(p, i, false, 0, "com.example.Echo", "echo", Map.of(), "c2-payload-" + i + "."));
        }
        for (RpcPeers.Client c : List.of(c1, c2)) {
            final String tag = c == c1 ? "c1" : "c2";
            final Set<Long> seen = new HashSet<>();
            for (int i = 0; i < n; i++) {
                final Object r = c.take();
                try {
                    final long id = id(r);
                    assertTrue(payload(r).contains(tag + "-payload-" + id + "."),
                               "response " + id + " carries " + payload(r));
                    assertTrue(seen.add(id), "duplicate response for " + id);
                } finally {
                    ReferenceCountUtil.release(r);
                }
            }
        }
        assertEquals(2 * n, a.receivedIds.size());
        assertTrue(a.accepted.get() <= 2, "at most one upstream connection per event loop: " + a.accepted.get());
    }

    @org.junit.jupiter.api.Test
    void boltV2WithCrcKeepsValidCrcAcrossIdRemapping() throws Exception {
        start(RpcProtocol.BOLT);
        final RpcPeers.Client c = client(RpcProtocol.BOLT);
        for (int i = 1; i <= 3; i++) {
            final io.netty.buffer.ByteBuf content = io.netty.buffer.Unpooled.copiedBuffer("crc-" + i,
                    java.nio.charset.StandardCharsets.UTF_8);
            final BoltRequest req;
            try {
                req = BoltRequest.of(ByteBufAllocator.DEFAULT, BoltMessage.PROTOCOL_V2, false, 1000 + i, 0,
                                     (byte) BoltMessage.SWITCH_CRC, "cls",
                                     Map.of(BoltMessage.HEADER_SERVICE, "com.example.Echo:1.0",
                                            BoltMessage.HEADER_METHOD_NAME, "echo"), content);
            } finally {
                content.release();
            }
            final Object r = c.call(req); // the client's decoder checks the CRC32
            try {
                final BoltResponse resp = (BoltResponse) r;
                assertEquals(1000 + i, resp.requestId());
                assertEquals(BoltMessage.PROTOCOL_V2, resp.protocol());
                assertTrue(resp.hasCrc());
                assertEquals("crc-" + i, payload(resp));
            } finally {
                ReferenceCountUtil.release(r);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void answersHeartbeatsItself(RpcProtocol p) throws Exception {
        start(p);
        final RpcPeers.Client c = client(p);
        final Object hb = p == RpcProtocol.BOLT ? BoltRequest.heartbeat(ByteBufAllocator.DEFAULT, BoltMessage.PROTOCOL_V1, 77)
                                                : DubboRequest.heartbeat(ByteBufAllocator.DEFAULT, 77);
        final Object ack = c.call(hb);
        try {
            assertEquals(77, id(ack));
            if (ack instanceof BoltResponse) {
                assertTrue(((BoltResponse) ack).isHeartbeat());
            } else {
                assertTrue(((DubboResponse) ack).isHeartbeat());
            }
        } finally {
            ReferenceCountUtil.release(ack);
        }
        assertEquals(1, proxy.counter("rpc.test.heartbeat"));
        assertEquals(0, a.accepted.get() + b.accepted.get(), "no upstream connection for a heartbeat");
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void forwardsOnewayWithoutWaiting(RpcProtocol p) throws Exception {
        start(p);
        final RpcPeers.Client c = client(p);
        c.send(request(p, 1, true, 0, "com.example.Echo", "fireAndForget", Map.of(), "o"));
        assertEquals("fireAndForget", a.receivedMethods.poll(10, TimeUnit.SECONDS));
        final Object r = c.call(request(p, 2, false, 0, "com.example.Echo", "echo", Map.of(), "two-way"));
        try {
            assertEquals(2, id(r), "the oneway call got no response");
        } finally {
            ReferenceCountUtil.release(r);
        }
        assertEquals(1, proxy.counter("rpc.test.request_oneway"));
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void timeoutFromFrameGetsProtocolTimeoutReply(RpcProtocol p) throws Exception {
        start(p);
        final RpcPeers.Client c = client(p);
        final Object r = c.call(request(p, 9, false, 200, "com.example.Echo", "echo", Map.of("sleep", "never"), "t"));
        try {
            assertEquals(9, id(r));
            assertEquals(p == RpcProtocol.BOLT ? BoltResponseStatus.TIMEOUT : DubboStatus.SERVER_TIMEOUT, status(r));
        } finally {
            ReferenceCountUtil.release(r);
        }
        assertEquals(1, proxy.counter("rpc.test.request_timeout"));
        assertEquals(1, proxy.counter("rpc.test.local_reply"));
        // The connection keeps working after the timeout.
        assertEquals("a:" + ok(p), callServer(c, request(p, 10, false, 0, "com.example.Echo", "echo", Map.of(), "x")));
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void routeTimeoutAppliesWithoutFrameOrFilterTimeout(RpcProtocol p) throws Exception {
        start(p, rpc -> rpc); // no filter timeout: the route's applies
        final RpcPeers.Client c = client(p);
        final Object r = c.call(request(p, 3, false, 0, "com.example.Slow", "echo", Map.of("sleep", "never"), "t"));
        try {
            assertEquals(p == RpcProtocol.BOLT ? BoltResponseStatus.TIMEOUT : DubboStatus.SERVER_TIMEOUT, status(r));
        } finally {
            ReferenceCountUtil.release(r);
        }
        assertEquals(1, proxy.counter("rpc.test.request_timeout"));
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void filterTimeoutAppliesWithoutFrameTimeout(RpcProtocol p) throws Exception {
        start(p, rpc -> rpc.option("timeout", "0.2s"));
        final RpcPeers.Client c = client(p);
        final Object r = c.call(request(p, 4, false, 0, "com.example.Echo", "echo", Map.of("sleep", "never"), "t"));
        try {
            assertEquals(4, id(r));
            assertEquals(p == RpcProtocol.BOLT ? BoltResponseStatus.TIMEOUT : DubboStatus.SERVER_TIMEOUT, status(r));
        } finally {
            ReferenceCountUtil.release(r);
        }
        assertEquals(1, proxy.counter("rpc.test.request_timeout"));
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void logsEachCall(RpcProtocol p, @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        final java.nio.file.Path log = dir.resolve("rpc.log");
        start(p, rpc -> rpc.option("timeout", "20s").accessLog(log, "%PROTOCOL% %REQ(:AUTHORITY)% %REQ(:PATH)%"
                + " %REQ(X-COLOR)% %RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_CLUSTER% %RESPONSE_CODE_DETAILS%"));
        final RpcPeers.Client c = client(p);
        callServer(c, request(p, 1, false, 0, "com.example.Echo", "echo", Map.of("x-color", "blue"), "x"));
        ReferenceCountUtil.release(c.call(request(p, 2, false, 0, "com.example.Unknown", "nope", Map.of(), "x")));
        final String name = p.protocolName();
        final String notFound = p == RpcProtocol.BOLT ? "6" : "60";
        final String okCode = p == RpcProtocol.BOLT ? "0" : "20";
        final List<String> expected = List.of(
                name + " com.example.Echo /com.example.Echo/echo blue " + okCode + " - b via_upstream",
                name + " com.example.Unknown /com.example.Unknown/nope - " + notFound + " NR - route_not_found");
        assertEquals(expected, io.jmesh.proxy.testing.AccessLogFiles.awaitLines(log, 2));
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void noRouteAndUnknownClusterGetErrorReplies(RpcProtocol p) throws Exception {
        start(p);
        final RpcPeers.Client c = client(p);
        final int notFound = p == RpcProtocol.BOLT ? BoltResponseStatus.NO_PROCESSOR : DubboStatus.SERVICE_NOT_FOUND;
        // An unknown cluster is "not sent" (retriable, Envoy's 503 NC), not "service not found".
        final int notSent = p == RpcProtocol.BOLT ? BoltResponseStatus.CLIENT_SEND_ERROR : DubboStatus.CHANNEL_INACTIVE;
        for (String iface : List.of("com.example.Unknown", "com.example.Missing")) {
            final Object r = c.call(request(p, 5, false, 0, iface, "echo", Map.of(), "n"));
            try {
                assertEquals(5, id(r));
                assertEquals(iface.endsWith("Unknown") ? notFound : notSent, status(r));
                if (r instanceof DubboResponse) {
                    assertTrue(((DubboResponse) r).errorMessage().startsWith("jmesh: "),
                               ((DubboResponse) r).errorMessage());
                }
            } finally {
                ReferenceCountUtil.release(r);
            }
        }
        assertEquals(2, proxy.counter("rpc.test.local_reply"));
        assertEquals(0, a.accepted.get() + b.accepted.get());
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void deadUpstreamGetsErrorReply(RpcProtocol p) throws Exception {
        start(p);
        final RpcPeers.Client c = client(p);
        final Object r = c.call(request(p, 6, false, 0, "com.example.Dead", "echo", Map.of(), "d"));
        try {
            assertEquals(6, id(r));
            assertEquals(p == RpcProtocol.BOLT ? BoltResponseStatus.CLIENT_SEND_ERROR : DubboStatus.CHANNEL_INACTIVE,
                         status(r));
        } finally {
            ReferenceCountUtil.release(r);
        }
        assertEquals(1, proxy.counter("cluster.dead.upstream_rq_retry"));
        assertEquals(2, proxy.counter("cluster.dead.upstream_cx_connect_fail"));
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void malformedFrameClosesOnlyThatConnection(RpcProtocol p) throws Exception {
        start(p);
        final RpcPeers.Client good = client(p);
        assertEquals("a:" + ok(p), callServer(good, request(p, 1, false, 0, "com.example.Echo", "echo", Map.of(), "x")));
        try (Socket bad = new Socket("127.0.0.1", proxy.port())) {
            bad.setSoTimeout(10_000);
            bad.getOutputStream().write(new byte[] { 0x7f, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
                    0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17 });
            bad.getOutputStream().flush();
            final InputStream in = bad.getInputStream();
            assertEquals(-1, in.read(), "the proxy closes the connection that sent a malformed frame");
        }
        assertEquals("a:" + ok(p), callServer(good, request(p, 2, false, 0, "com.example.Echo", "echo", Map.of(), "x")));
        assertEquals(1, proxy.counter("rpc.test.downstream_cx_protocol_error"));
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void upstreamKilledMidFlightFailsOnlyItsCallsAndLaterCallsUseTheOtherHost(RpcProtocol p) throws Exception {
        start(p);
        final RpcPeers.Client c = client(p);
        final int n = 10;
        for (int i = 1; i <= n; i++) {
            c.send(request(p, i, false, 0, "com.example.Both", "hold", Map.of("sleep", "never"), "h" + i));
        }
        // Wait until every call reached a server; round robin spreads them over a and b.
        for (int waited = 0; a.receivedIds.size() + b.receivedIds.size() < n; waited++) {
            assertTrue(waited < 1000, "calls did not reach the servers");
            Thread.sleep(10);
        }
        final int onA = a.receivedIds.size();
        assertTrue(onA > 0 && onA < n, "calls on a: " + onA);
        a.close();
        final int reset = p == RpcProtocol.BOLT ? BoltResponseStatus.CONNECTION_CLOSED : DubboStatus.SERVER_ERROR;
        final List<Long> failed = new ArrayList<>();
        for (int i = 0; i < onA; i++) {
            final Object r = c.take();
            try {
                assertEquals(reset, status(r));
                failed.add(id(r));
            } finally {
                ReferenceCountUtil.release(r);
            }
        }
        assertNull(c.received.poll(200, TimeUnit.MILLISECONDS), "calls on b are still waiting");
        Collections.sort(failed);
        assertEquals(onA, new HashSet<>(failed).size());
        for (int i = 0; i < 6; i++) {
            assertEquals("b:" + ok(p), callServer(c, request(p, 100 + i, false, 0, "com.example.Both", "echo",
                                                             Map.of(), "after")));
        }
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void notSentReplyOfAnUpstreamSidecarIsRetriedOnTheOtherHost(RpcProtocol p) throws Exception {
        start(p);
        a.notSent = true; // a stands for a provider's sidecar whose application is gone
        final RpcPeers.Client c = client(p);
        for (int i = 0; i < 6; i++) {
            assertEquals("b:" + ok(p), callServer(c, request(p, 200 + i, false, 0, "com.example.Both", "echo",
                                                             Map.of(), "x")));
        }
        assertTrue(a.receivedIds.size() >= 3, "round robin sent calls to a first: " + a.receivedIds);
        assertEquals(a.receivedIds.size(), proxy.counter("cluster.both.upstream_rq_retry"));
    }
}
