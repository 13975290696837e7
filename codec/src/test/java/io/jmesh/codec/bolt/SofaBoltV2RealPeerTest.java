package io.jmesh.codec.bolt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.alipay.remoting.BizContext;
import com.alipay.remoting.Url;
import com.alipay.remoting.rpc.RpcClient;
import com.alipay.remoting.rpc.RpcServer;
import com.alipay.remoting.rpc.protocol.RpcProtocolV2;
import com.alipay.remoting.rpc.protocol.SyncUserProcessor;

import io.jmesh.codec.testing.CodecRelay;
import io.jmesh.codec.testing.FrameCapture;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;

/**
 * Bolt v2 from the real sofa-bolt 1.6.10 (the transport under SOFARPC, which itself speaks v1): an
 * {@code RpcClient} calls an {@code RpcServer} through a relay that decodes every frame, rewrites
 * request ids and writes frames back, with ver1 = 2 (CRC32 on, sofa-bolt's default switch) and ver1 = 1
 * (switch set but no CRC).
 */
class SofaBoltV2RealPeerTest {

    private static RpcServer server;
    private static CodecRelay relay;
    private static final List<String> seen = new ArrayList<>();
    private static final Map<Integer, Integer> ids = new HashMap<>();
    private static int nextId = 5_000_000;

    @BeforeAll
    static void start() throws Exception {
        final int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            port = probe.getLocalPort();
        }
        server = new RpcServer("127.0.0.1", port, false);
        server.registerUserProcessor(new SyncUserProcessor<String>() {
            @Override
            public Object handleRequest(BizContext ctx, String request) {
                return "echo:" + request;
            }

            @Override
            public String interest() {
                return String.class.getName();
            }
        });
        server.startup();
        relay = new CodecRelay(new InetSocketAddress("127.0.0.1", port),
                               () -> new ChannelHandler[] { new BoltDecoder(), BoltEncoder.INSTANCE },
                               new CodecRelay.Logic() {
                                   @Override
                                   public void fromClient(Channel client, Channel upstream, Object msg) {
                                       final BoltRequest req = (BoltRequest) msg;
                                       seen.add("request v" + req.protocol() + " ver1=" + req.ver1() + " crc="
                                                + req.hasCrc() + " class=" + req.className());
                                       capture("request-ver1-" + req.ver1(), req);
                                       final int id = nextId++;
                                       ids.put(id, req.requestId());
                                       upstream.writeAndFlush(req.withRequestId(id));
                                   }

                                   @Override
                                   public void fromServer(Channel client, Channel upstream, Object msg) {
                                       final BoltResponse resp = (BoltResponse) msg;
                                       seen.add("response v" + resp.protocol() + " ver1=" + resp.ver1() + " crc="
                                                + resp.hasCrc() + " status=" + resp.status());
                                       capture("response-ver1-" + resp.ver1(), resp);
                                       client.writeAndFlush(resp.withRequestId(ids.remove(resp.requestId())));
                                   }
                               });
    }

    private static void capture(String name, BoltMessage msg) {
        final ByteBuf raw = msg.encode(UnpooledByteBufAllocator.DEFAULT);
        try {
            FrameCapture.save("sofabolt-1.6.10-v2-" + name, raw);
        } finally {
            raw.release();
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (relay != null) {
            relay.close();
        }
        if (server != null) {
            server.shutdown();
        }
    }

    private static String call(byte ver1, String request) throws Exception {
        final RpcClient client = new RpcClient();
        client.startup();
        try {
            final Url url = new Url("127.0.0.1", relay.port());
            url.setProtocol(RpcProtocolV2.PROTOCOL_CODE);
            url.setVersion(ver1);
            return (String) client.invokeSync(url, request, 5000);
        } finally {
            client.shutdown();
        }
    }

    private static List<String> seen() throws Exception {
        final List<String> copy = new ArrayList<>();
        relay.runOnLoop(() -> copy.addAll(seen));
        return copy;
    }

    @Test
    void v2WithCrc() throws Exception {
        assertEquals("echo:crc", call(RpcProtocolV2.PROTOCOL_VERSION_2, "crc"));
        final List<String> s = seen();
        assertTrue(s.contains("request v2 ver1=2 crc=true class=java.lang.String"), s.toString());
        assertTrue(s.contains("response v2 ver1=2 crc=true status=0"), s.toString());
        synchronized (relay.errors) {
            assertTrue(relay.errors.isEmpty(), relay.errors.toString());
        }
    }

    @Test
    void v2Ver1WithoutCrc() throws Exception {
        assertEquals("echo:plain", call(RpcProtocolV2.PROTOCOL_VERSION_1, "plain"));
        final List<String> s = seen();
        assertTrue(s.contains("request v2 ver1=1 crc=false class=java.lang.String"), s.toString());
        assertTrue(s.contains("response v2 ver1=1 crc=false status=0"), s.toString());
        assertFalse(s.stream().anyMatch(x -> x.contains("ver1=1 crc=true")), s.toString());
        synchronized (relay.errors) {
            assertTrue(relay.errors.isEmpty(), relay.errors.toString());
        }
    }
}
