package io.jmesh.codec.dubbo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.dubbo.common.utils.NetUtils;
import org.apache.dubbo.config.ApplicationConfig;
import org.apache.dubbo.config.ProtocolConfig;
import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.RegistryConfig;
import org.apache.dubbo.config.ServiceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.rpc.RpcContext;
import org.apache.dubbo.rpc.RpcException;
import org.apache.dubbo.rpc.model.FrameworkModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.jmesh.codec.testing.Await;
import io.jmesh.codec.testing.CodecRelay;
import io.jmesh.codec.testing.FrameCapture;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;

/**
 * A real Dubbo 3.3.6 consumer calls a real provider (direct mode, dubbo protocol, Hessian2) through a
 * relay that decodes every frame with {@link DubboDecoder}, rewrites request ids and writes frames back
 * with {@link DubboEncoder}; the relay's local error replies reach the real consumer.
 */
class DubboRealPeerTest {

    record Seen(int serializationId, boolean twoWay, boolean event, boolean heartbeat, long requestId, String dubboVersion,
                String path, String version, String method, String desc, Map<String, String> attachments) {}

    private static DubboBootstrap provider;
    private static DubboBootstrap consumer;
    private static CodecRelay relay;
    private static Greeter greeter;
    private static final List<Seen> requests = new ArrayList<>();
    private static final List<Byte> statuses = new ArrayList<>();
    private static final List<Boolean> heartbeatReplies = new ArrayList<>();
    /** Upstream request id (rewritten) -> the client's id; heartbeats keep their id. */
    private static final Map<Long, Long> ids = new HashMap<>();
    private static long nextId = 1L << 40;

    @BeforeAll
    static void start() throws Exception {
        // Dubbo rewrites 127.0.0.1 to the first non-loopback address: pin it.
        setStatic("HOST_ADDRESS", "127.0.0.1");
        setStatic("LOCAL_ADDRESS", InetAddress.getByName("127.0.0.1"));
        final int port;
        // Dubbo does not report an ephemeral port back to us: probe a free one.
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            port = probe.getLocalPort();
        }
        final ApplicationConfig providerApp = new ApplicationConfig("codec-provider");
        providerApp.setQosEnable(false);
        final ProtocolConfig protocol = new ProtocolConfig("dubbo", port);
        protocol.setHost("127.0.0.1");
        protocol.setSerialization("hessian2");
        final ServiceConfig<Greeter> service = new ServiceConfig<>();
        service.setInterface(Greeter.class);
        service.setVersion("1.0.0");
        service.setRef(new Greeter() {
            @Override
            public String greet(String name) {
                return "hi " + name + " " + RpcContext.getServerAttachment().getAttachment("x-mesh");
            }

            @Override
            public String describe(Person p, Person same, Map<String, Object> options, List<Long> numbers,
                                   byte[] blob, double ratio, boolean flag) {
                return p.name + "/" + p.age + "/" + p.tags + "/" + (p == same) + "/" + options + "/" + numbers
                       + "/" + blob.length + "/" + ratio + "/" + flag;
            }
        });
        provider = DubboBootstrap.newInstance(new FrameworkModel())
                                 .application(providerApp)
                                 .registry(new RegistryConfig("N/A"))
                                 .protocol(protocol)
                                 .service(service)
                                 .start();

        relay = new CodecRelay(new InetSocketAddress("127.0.0.1", port),
                               () -> new ChannelHandler[] { new DubboDecoder(), DubboEncoder.INSTANCE },
                               new CodecRelay.Logic() {
                                   @Override
                                   public void fromClient(Channel client, Channel upstream, Object msg) {
                                       onRequest(client, upstream, (DubboRequest) msg);
                                   }

                                   @Override
                                   public void fromServer(Channel client, Channel upstream, Object msg) {
                                       final DubboResponse resp = (DubboResponse) msg;
                                       capture(resp.isHeartbeat() ? "heartbeat-response" : "response-" + resp.status(),
                                               resp);
                                       statuses.add(resp.status());
                                       heartbeatReplies.add(resp.isHeartbeat());
                                       final Long original = ids.remove(resp.requestId());
                                       client.writeAndFlush(original == null ? resp : resp.withRequestId(original));
                                   }
                               });

        final ApplicationConfig consumerApp = new ApplicationConfig("codec-consumer");
        consumerApp.setQosEnable(false);
        final ReferenceConfig<Greeter> reference = new ReferenceConfig<>();
        reference.setInterface(Greeter.class);
        reference.setVersion("1.0.0");
        reference.setGroup(null);
        reference.setTimeout(10_000);
        reference.setRetries(0);
        reference.setUrl("dubbo://127.0.0.1:" + relay.port() + "?serialization=hessian2&prefer.serialization=hessian2"
                         + "&heartbeat=1000");
        consumer = DubboBootstrap.newInstance(new FrameworkModel())
                                 .application(consumerApp)
                                 .registry(new RegistryConfig("N/A"))
                                 .reference(reference)
                                 .start();
        greeter = reference.get();
    }

    private static void setStatic(String name, Object value) throws Exception {
        final Field f = NetUtils.class.getDeclaredField(name);
        f.setAccessible(true);
        f.set(null, value);
    }

    private static void onRequest(Channel client, Channel upstream, DubboRequest req) {
        requests.add(new Seen(req.serializationId(), req.isTwoWay(), req.isEvent(), req.isHeartbeat(), req.requestId(),
                              req.dubboVersion(), req.servicePath(), req.serviceVersion(), req.methodName(),
                              req.parameterTypesDesc(), req.attachments()));
        capture(req.isHeartbeat() ? "heartbeat" : "request-" + req.methodName(), req);
        final String fail = req.attachment("x-jmesh-fail");
        if (fail != null) {
            final byte status = "timeout".equals(fail) ? DubboStatus.SERVER_TIMEOUT : DubboStatus.SERVICE_NOT_FOUND;
            client.writeAndFlush(DubboResponse.error(req, status, "jmesh: no route for " + req.methodName(),
                                                     client.alloc()));
            req.release();
            return;
        }
        if (req.isEvent()) {
            upstream.writeAndFlush(req);
            return;
        }
        final long id = nextId++;
        if (req.isTwoWay()) {
            ids.put(id, req.requestId());
        }
        upstream.writeAndFlush(req.withRequestId(id));
    }

    private static void capture(String name, DubboMessage msg) {
        final io.netty.buffer.ByteBuf raw = msg.encode(io.netty.buffer.UnpooledByteBufAllocator.DEFAULT);
        try {
            FrameCapture.save("dubbo-3.3.6-" + name, raw);
        } finally {
            raw.release();
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (consumer != null) {
            consumer.stop();
        }
        if (relay != null) {
            relay.close();
        }
        if (provider != null) {
            provider.stop();
        }
    }

    private static List<Seen> seen() throws Exception {
        final List<Seen> copy = new ArrayList<>();
        relay.runOnLoop(() -> copy.addAll(requests));
        return copy;
    }

    private static Seen last(String method) throws Exception {
        final List<Seen> all = seen();
        for (int i = all.size() - 1; i >= 0; i--) {
            if (method.equals(all.get(i).method())) {
                return all.get(i);
            }
        }
        throw new AssertionError("no " + method + " in " + all);
    }

    @Test
    void realCallsPassThroughWithRoutingFieldsAndAttachments() throws Exception {
        RpcContext.getClientAttachment().setAttachment("x-mesh", "yes");
        assertEquals("hi mesh yes", greeter.greet("mesh"));
        final Seen greet = last("greet");
        assertEquals(DubboMessage.SERIALIZATION_HESSIAN2, greet.serializationId());
        assertTrue(greet.twoWay());
        assertEquals("2.0.2", greet.dubboVersion());
        assertEquals(Greeter.class.getName(), greet.path());
        assertEquals("1.0.0", greet.version());
        assertEquals("Ljava/lang/String;", greet.desc());
        final Map<String, String> a = greet.attachments();
        assertEquals("yes", a.get("x-mesh"), a.toString());
        assertEquals(Greeter.class.getName(), a.get("interface"), a.toString());
        assertEquals("1.0.0", a.get("version"), a.toString());
        assertEquals(Greeter.class.getName(), a.get("path"), a.toString());

        final Person p = new Person("ada", 36, Arrays.asList("x", "y"));
        final Map<String, Object> options = new LinkedHashMap<>();
        options.put("depth", 3);
        options.put("nested", Map.of("k", List.of(1L, 2L)));
        options.put("when", new java.util.Date(0));
        RpcContext.getClientAttachment().setAttachment("x-mesh", "after-args");
        final String d = greeter.describe(p, p, options, List.of(1L, 1L << 40), new byte[40_000], 0.25, true);
        assertTrue(d.startsWith("ada/36/[x, y]/true/{depth=3, nested={k=[1, 2]}, when="), d);
        assertTrue(d.endsWith("/[1, 1099511627776]/40000/0.25/true"), d);
        final Seen describe = last("describe");
        assertEquals("after-args", describe.attachments().get("x-mesh"), describe.attachments().toString());
        assertEquals(7, DubboRequest.countParameters(describe.desc()));

        relay.runOnLoop(() -> assertTrue(ids.isEmpty(), ids.toString()));
        relay.runOnLoop(() -> assertTrue(statuses.stream().allMatch(s -> s == DubboStatus.OK), statuses.toString()));
        synchronized (relay.errors) {
            assertTrue(relay.errors.isEmpty(), relay.errors.toString());
        }
    }

    @Test
    void localErrorRepliesReachTheRealConsumer() throws Exception {
        RpcContext.getClientAttachment().setAttachment("x-jmesh-fail", "route");
        final RpcException notFound = assertThrows(RpcException.class, () -> greeter.greet("a"));
        assertTrue(String.valueOf(notFound.getMessage()).contains("jmesh: no route for greet"), notFound.toString());

        RpcContext.getClientAttachment().setAttachment("x-jmesh-fail", "timeout");
        final RpcException timeout = assertThrows(RpcException.class, () -> greeter.greet("a"));
        assertTrue(timeout.isTimeout(), timeout.toString());
        assertTrue(String.valueOf(timeout.getMessage()).contains("jmesh: no route for greet"), timeout.toString());

        RpcContext.getClientAttachment().removeAttachment("x-jmesh-fail");
        assertNotNull(greeter.greet("b"));
    }

    @Test
    void heartbeatsPassThrough() throws Exception {
        assertNotNull(greeter.greet("c")); // the connection is up
        Await.until(() -> seen().stream().anyMatch(Seen::heartbeat));
        Await.until(() -> {
            final List<Boolean> replies = new ArrayList<>();
            relay.runOnLoop(() -> replies.addAll(heartbeatReplies));
            return replies.contains(true);
        });
        synchronized (relay.errors) {
            assertTrue(relay.errors.isEmpty(), relay.errors.toString());
        }
    }
}
