package io.jmesh.proxy.network.rpc;

import static io.jmesh.proxy.network.rpc.RpcPeers.request;
import static io.jmesh.proxy.network.rpc.RpcPeers.server;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.jmesh.codec.bolt.BoltResponse;
import io.jmesh.codec.dubbo.DubboResponse;
import io.jmesh.proxy.config.BootstrapLoader;
import io.jmesh.proxy.internal.Transports;
import io.jmesh.proxy.listener.ProxyListener;
import io.jmesh.proxy.network.DrainSettings;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.upstream.ClusterManager;
import io.netty.channel.EventLoopGroup;
import io.netty.util.ReferenceCountUtil;

/**
 * An rpc_proxy listener updated in place ({@link ProxyListener#replaceFilterChain}, as an LDS update does), with real
 * Bolt and Dubbo peers: a connection accepted before the update leaves the old filter chain by closing once it has no
 * call open (Bolt and Dubbo have no GOAWAY), calls open at the update are answered first, and a new connection gets
 * the new chain.
 */
class RpcProxyDrainTest {

    private final EventLoopGroup workers = Transports.newGroup(1, "rpc-drain-test");
    private final Stats stats = new Stats();
    private final List<AutoCloseable> resources = new ArrayList<>();
    private ClusterManager clusters;
    private ProxyListener listener;
    private RpcPeers.EchoServer a;
    private RpcPeers.EchoServer b;

    @AfterEach
    void tearDown() throws Exception {
        RpcPeers.closeAll(resources, null);
        if (listener != null) {
            listener.close();
        }
        if (clusters != null) {
            clusters.close();
        }
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** An rpc_proxy listener routing every call to {@code cluster} (clusters a and b). */
    private Bootstraps listenerConfig(RpcProtocol p, String cluster) {
        return Bootstraps.rpc(p.protocolName()).statPrefix("drain")
                .option("timeout", "20s")
                .virtualHost("all", "*").route("/", cluster)
                .cluster("a", a.port()).cluster("b", b.port());
    }

    private Bootstrap config(RpcProtocol p, String cluster) throws Exception {
        return BootstrapLoader.parse(listenerConfig(p, cluster).build());
    }

    /** The listener routing to a with an RBAC filter that denies every call of {@code com.example.Echo}. */
    private ProxyListener createDenying(RpcProtocol p) throws Exception {
        return create(BootstrapLoader.parse(listenerConfig(p, "a")
                .option("filters", RpcRbacFilterTest.rbacFilter("rules: { action: DENY, policies: { \"no-echo\": {"
                        + " permissions: [{ url_path: { path: { prefix: /com.example.Echo/ } } }],"
                        + " principals: [{ any: true }] } } }"))
                .build()));
    }

    private ProxyListener create(RpcProtocol p, String cluster) throws Exception {
        return create(config(p, cluster));
    }

    private ProxyListener create(Bootstrap config) throws Exception {
        return ProxyListener.create(config.getStaticResources().getListeners(0), () -> clusters, stats, "listener");
    }

    private RpcPeers.Client client(RpcProtocol p) throws InterruptedException {
        final RpcPeers.Client c = new RpcPeers.Client(p, listener.localAddress().getPort());
        resources.add(0, c);
        return c;
    }

    private void start(RpcProtocol p) throws Exception {
        a = new RpcPeers.EchoServer(p, "a");
        b = new RpcPeers.EchoServer(p, "b");
        resources.add(a);
        resources.add(b);
        clusters = ClusterManager.create(config(p, "a").getStaticResources().getClustersList(), workers, stats);
        listener = create(p, "a");
        listener.bind(workers).sync();
    }

    /** Sends a call that server a holds until {@code a.releaseHeld()}, and waits until a has it. */
    private void sendHeldCall(RpcPeers.Client c, RpcProtocol p, long id) throws InterruptedException {
        c.send(request(p, id, false, 0, "com.example.Echo", "echo", Map.of("sleep", "hold"), "held"));
        assertNotNull(a.receivedIds.poll(10, TimeUnit.SECONDS), "a has the held call");
    }

    /** Calls and returns the name of the server that answered, releasing the response. */
    private static String call(RpcPeers.Client c, Object request) throws InterruptedException {
        return answeredBy(c.call(request));
    }

    private static String answeredBy(Object response) {
        try {
            return server(response);
        } finally {
            ReferenceCountUtil.release(response);
        }
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void anIdleConnectionClosesOnAListenerUpdateAndTheCallerReconnectsToTheNewChain(RpcProtocol p) throws Exception {
        start(p);
        final RpcPeers.Client before = client(p);
        assertEquals("a", call(before, request(p, 1, false, 0, "com.example.Echo", "echo", Map.of(), "x")));

        listener.replaceFilterChain(create(p, "b"));

        Poll.until(() -> !before.channel.isActive(), "the connection of the old filter chain closed");
        final RpcPeers.Client after = client(p);
        assertEquals("b", call(after, request(p, 2, false, 0, "com.example.Echo", "echo", Map.of(), "x")));
        assertTrue(after.channel.isActive(), "the connection of the new filter chain stays open");
    }

    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void aCallOpenAtTheUpdateIsAnsweredBeforeTheConnectionCloses(RpcProtocol p) throws Exception {
        start(p);
        final RpcPeers.Client c = client(p);
        sendHeldCall(c, p, 7);

        listener.replaceFilterChain(create(p, "b"));
        a.releaseHeld();

        final Object response = c.take();
        assertEquals(7L, RpcPeers.id(response));
        assertEquals("a", answeredBy(response), "the call open at the update is answered on its connection");
        Poll.until(() -> !c.channel.isActive(), "the connection closed once its last call was answered");
    }

    /**
     * A caller that never lets its connection go idle (a call held open upstream, and more calls all the time) keeps
     * the old filter chain only for the drain time: then the connection is closed, and on its new connection the
     * DENY policy of the new chain answers.
     */
    @ParameterizedTest
    @EnumSource(RpcProtocol.class)
    void aBusyConnectionIsClosedWhenTheDrainTimeIsOverAndTheNewDenyPolicyAnswers(RpcProtocol p) throws Exception {
        start(p);
        final RpcPeers.Client busy = client(p);
        sendHeldCall(busy, p, 1);
        assertEquals("a", call(busy, request(p, 2, false, 0, "com.example.Echo", "echo", Map.of(), "x")));

        listener.replaceFilterChain(createDenying(p), new DrainSettings(300, DrainSettings.Strategy.IMMEDIATE));
        final AtomicLong id = new AtomicLong(100);
        final Thread caller = new Thread(() -> {
            while (busy.channel.isActive()) { // keeps calling; the test thread checks what came back
                busy.send(request(p, id.incrementAndGet(), false, 0, "com.example.Echo", "echo", Map.of(), "x"));
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
            }
        }, "busy-caller");
        caller.start();
        Poll.until(() -> !busy.channel.isActive(), "the busy connection closed when the drain time was over");
        caller.join();

        final List<Object> answered = new ArrayList<>();
        busy.received.drainTo(answered);
        try {
            assertTrue(answered.size() > 0, "calls on the busy connection were answered before it closed");
            for (Object response : answered) {
                assertEquals("a", server(response), "the old chain (no policy) answered on the old connection");
            }
        } finally {
            answered.forEach(ReferenceCountUtil::release);
        }
        final RpcPeers.Client after = client(p);
        final Object denied = after.call(request(p, 3, false, 0, "com.example.Echo", "echo", Map.of(), "x"));
        try {
            assertEquals(3L, RpcPeers.id(denied));
            final String error = denied instanceof BoltResponse r ? r.content().toString(StandardCharsets.UTF_8)
                    : ((DubboResponse) denied).errorMessage();
            assertTrue(error.contains("RBAC: access denied"), error);
        } finally {
            ReferenceCountUtil.release(denied);
        }
    }
}
