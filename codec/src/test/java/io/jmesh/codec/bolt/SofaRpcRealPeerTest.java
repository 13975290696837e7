package io.jmesh.codec.bolt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.alipay.sofa.rpc.config.ConsumerConfig;
import com.alipay.sofa.rpc.config.ProviderConfig;
import com.alipay.sofa.rpc.config.ServerConfig;
import com.alipay.sofa.rpc.context.RpcInvokeContext;
import com.alipay.sofa.rpc.core.exception.RpcErrorType;
import com.alipay.sofa.rpc.core.exception.SofaRpcException;

import io.jmesh.codec.testing.CodecRelay;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;

/**
 * A real SOFARPC 5.13.2 consumer calls a real provider (direct mode, Bolt) through a relay that decodes
 * every frame with {@link BoltDecoder}, rewrites request ids and writes the frames back with
 * {@link BoltEncoder}; and the relay's local replies reach the real consumer as errors.
 */
class SofaRpcRealPeerTest {

    /** What the relay saw of one request; the message itself is released once forwarded. */
    record Seen(byte protocol, byte type, int requestId, int timeout, String className, Map<String, String> headers,
                int contentLength) {}

    private static ServerConfig serverConfig;
    private static CodecRelay relay;
    private static final List<Seen> requests = new ArrayList<>();
    private static final List<Short> responseStatuses = new ArrayList<>();
    /** Upstream request id (rewritten) -> the client's id. */
    private static final Map<Integer, Integer> ids = new HashMap<>();
    private static int nextId = 1_000_000;

    @BeforeAll
    static void start() throws Exception {
        final int port;
        // SOFARPC does not report an ephemeral port back: probe a free one on 127.0.0.1.
        try (ServerSocket probe = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            port = probe.getLocalPort();
        }
        serverConfig = new ServerConfig().setProtocol("bolt").setHost("127.0.0.1").setBoundHost("127.0.0.1")
                                         .setPort(port).setDaemon(true);
        final ProviderConfig<HelloService> provider = new ProviderConfig<HelloService>()
                .setInterfaceId(HelloService.class.getName())
                .setRef((name, times) -> ("hello " + name + " ").repeat(times).trim())
                .setServer(serverConfig)
                .setRegister(false);
        provider.export();
        relay = new CodecRelay(new InetSocketAddress("127.0.0.1", port),
                               () -> new ChannelHandler[] { new BoltDecoder(), BoltEncoder.INSTANCE },
                               new CodecRelay.Logic() {
                                   @Override
                                   public void fromClient(Channel client, Channel upstream, Object msg) {
                                       onRequest(client, upstream, (BoltRequest) msg);
                                   }

                                   @Override
                                   public void fromServer(Channel client, Channel upstream, Object msg) {
                                       final BoltResponse resp = (BoltResponse) msg;
                                       responseStatuses.add(resp.status());
                                       final Integer original = ids.remove(resp.requestId());
                                       client.writeAndFlush(resp.withRequestId(original));
                                   }
                               });
    }

    private static void onRequest(Channel client, Channel upstream, BoltRequest req) {
        requests.add(new Seen(req.protocol(), req.type(), req.requestId(), req.timeout(), req.className(),
                              req.headers(), req.content().readableBytes()));
        final String fail = req.header("x-jmesh-fail");
        if ("sofa".equals(fail)) {
            client.writeAndFlush(BoltResponse.sofaError(req, "jmesh: no healthy upstream", client.alloc()));
            req.release();
            return;
        }
        if ("busy".equals(fail)) {
            client.writeAndFlush(BoltResponse.error(req, BoltResponseStatus.SERVER_THREADPOOL_BUSY, client.alloc()));
            req.release();
            return;
        }
        final int id = nextId++;
        ids.put(id, req.requestId());
        upstream.writeAndFlush(req.withRequestId(id));
    }

    @AfterAll
    static void stop() throws Exception {
        if (relay != null) {
            relay.close();
        }
        if (serverConfig != null) {
            serverConfig.destroy();
        }
    }

    private static HelloService consumer(int timeoutMillis) {
        return new ConsumerConfig<HelloService>()
                .setInterfaceId(HelloService.class.getName())
                .setProtocol("bolt")
                .setDirectUrl("bolt://127.0.0.1:" + relay.port())
                .setRegister(false)
                .setSubscribe(false)
                .setTimeout(timeoutMillis)
                .refer();
    }

    private static List<Seen> seen() throws Exception {
        final List<Seen> copy = new ArrayList<>();
        relay.runOnLoop(() -> copy.addAll(requests));
        return copy;
    }

    @Test
    void realCallsPassThroughDecoderAndEncoderWithRewrittenIds() throws Exception {
        final HelloService hello = consumer(5000);
        for (int i = 1; i <= 3; i++) {
            assertEquals(("hello mesh ").repeat(i).trim(), hello.sayHello("mesh", i));
        }
        final String big = "x".repeat(300_000); // a content larger than one TCP read
        final String reply = hello.sayHello(big, 1);
        assertTrue(("hello " + big).equals(reply), "reply of " + reply.length() + " chars");

        final List<Seen> seen = seen();
        assertTrue(seen.size() >= 4, seen.toString());
        final Seen first = seen.get(seen.size() - 4);
        assertEquals(BoltMessage.PROTOCOL_V1, first.protocol());
        assertEquals(BoltMessage.TYPE_REQUEST, first.type());
        assertEquals(BoltRequest.SOFA_REQUEST_CLASS, first.className());
        assertEquals(5000, first.timeout());
        final Map<String, String> h = first.headers();
        assertEquals(HelloService.class.getName() + ":1.0", h.get(BoltMessage.HEADER_SERVICE), h.toString());
        assertEquals(HelloService.class.getName() + ":1.0", h.get(BoltMessage.HEADER_TARGET_SERVICE));
        assertEquals("sayHello", h.get(BoltMessage.HEADER_METHOD_NAME));
        assertEquals("bolt", h.get("protocol"));
        assertEquals("sync", h.get("type"));
        assertTrue(seen.get(seen.size() - 1).contentLength() > 300_000);
        assertNotEquals(seen.get(seen.size() - 1).requestId(), first.requestId());
        relay.runOnLoop(() -> assertTrue(ids.isEmpty(), ids.toString()));
        relay.runOnLoop(() -> assertTrue(responseStatuses.stream().allMatch(s -> s == 0), responseStatuses.toString()));
        synchronized (relay.errors) {
            assertTrue(relay.errors.isEmpty(), relay.errors.toString());
        }
    }

    @Test
    void localRepliesReachTheRealConsumer() throws Exception {
        final HelloService hello = consumer(5000);
        RpcInvokeContext.getContext().addCustomHeader("x-jmesh-fail", "sofa");
        final SofaRpcException sofa = assertThrows(SofaRpcException.class, () -> hello.sayHello("a", 1));
        assertTrue(String.valueOf(sofa.getMessage()).contains("jmesh: no healthy upstream"), sofa.toString());

        RpcInvokeContext.getContext().addCustomHeader("x-jmesh-fail", "busy");
        final SofaRpcException busy = assertThrows(SofaRpcException.class, () -> hello.sayHello("a", 1));
        assertEquals(RpcErrorType.SERVER_BUSY, busy.getErrorType(), busy.toString());
        assertTrue(busy.getMessage().contains("Server thread pool busy"), busy.getMessage());

        RpcInvokeContext.removeContext();
        assertEquals("hello b", hello.sayHello("b", 1));
        assertFalse(seen().isEmpty());
    }
}
