package io.jmesh.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.codec.dubbo.DubboDecoder;
import io.jmesh.codec.dubbo.DubboEncoder;
import io.jmesh.codec.dubbo.DubboMessage;
import io.jmesh.codec.dubbo.DubboRequest;
import io.jmesh.codec.dubbo.DubboResponse;
import io.jmesh.codec.dubbo.DubboStatus;
import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.xds.AdsBootstrap;
import io.jmesh.proxy.xds.ListenerBinding;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.ReferenceCountUtil;

/**
 * End to end for Dubbo: discovery reads a ServiceEntry with a {@code DUBBO} port, a DestinationRule with two
 * subsets and a VirtualService that sends service version {@code 2.0.0} to {@code v2} and splits the rest by
 * weight; a sidecar follows it over ADS, and Dubbo calls built with the codec go through the sidecar's
 * {@code 0.0.0.0_20880} rpc_proxy listener to two Dubbo echo servers, which answer with their name.
 */
class DubboFollowsDiscoveryTest {

    private static final String NODE = "sidecar~10.0.0.1~consumer.default~default.svc.cluster.local";
    private static final String IFACE = "org.example.DemoService";

    @TempDir
    Path dir;

    private NioEventLoopGroup group;
    private Channel v1;
    private Channel v2;
    private DiscoveryServer discovery;
    private ProxyServer proxy;
    private Channel client;
    private final BlockingQueue<Object> received = new LinkedBlockingQueue<>();

    @BeforeEach
    void start() throws Exception {
        group = new NioEventLoopGroup(1);
        v1 = echo("provider-v1");
        v2 = echo("provider-v2");
        Files.writeString(dir.resolve("mesh.yaml"), """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: demo, namespace: default}
                spec:
                  hosts: [org.example.demoservice]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 20880, name: dubbo-demo, protocol: DUBBO}]
                  workloadSelector: {labels: {app: demo}}
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: demo-v1, namespace: default}
                spec: {address: 127.0.0.1, ports: {dubbo-demo: %d}, labels: {app: demo, version: v1}}
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: demo-v2, namespace: default}
                spec: {address: 127.0.0.1, ports: {dubbo-demo: %d}, labels: {app: demo, version: v2}}
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: demo, namespace: default}
                spec:
                  host: org.example.demoservice
                  subsets:
                  - {name: v1, labels: {version: v1}}
                  - {name: v2, labels: {version: v2}}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: demo, namespace: default}
                spec:
                  hosts: [org.example.demoservice]
                  http:
                  - match: [{headers: {version: {exact: "2.0.0"}}}]
                    route: [{destination: {host: org.example.demoservice, subset: v2}}]
                  - route:
                    - {destination: {host: org.example.demoservice, subset: v1}, weight: 50}
                    - {destination: {host: org.example.demoservice, subset: v2}, weight: 50}
                """.formatted(port(v1), port(v2)), UTF_8);
        discovery = DiscoveryServer.start(new DiscoveryOptions(dir, new InetSocketAddress("127.0.0.1", 0),
                new InetSocketAddress("127.0.0.1", 0), null, DiscoveryOptions.DEFAULT_DEBOUNCE));
        proxy = ProxyServer.start(AdsBootstrap.forDiscovery("127.0.0.1", discovery.grpcAddress().getPort(), NODE,
                Map.of(), Map.of("app", "consumer"), 0), 1, new ListenerBinding("127.0.0.1", Map.of(20880, 0)));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!proxy.listenerAddresses().containsKey("0.0.0.0_20880")) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for the Dubbo listener from LDS");
            Thread.sleep(50);
        }
        client = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new DubboDecoder(), DubboEncoder.INSTANCE,
                                new ChannelInboundHandlerAdapter() {
                                    @Override
                                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                        received.add(msg);
                                    }
                                });
                    }
                })
                .connect(proxy.listenerAddresses().get("0.0.0.0_20880")).sync().channel();
    }

    @AfterEach
    void stop() throws Exception {
        if (client != null) {
            client.close().sync();
        }
        Object m;
        while ((m = received.poll()) != null) {
            ReferenceCountUtil.release(m);
        }
        if (proxy != null) {
            proxy.close();
        }
        if (discovery != null) {
            discovery.close();
        }
        v1.close().sync();
        v2.close().sync();
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).sync();
    }

    private static int port(Channel server) {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    /** A Dubbo server that answers every two-way call with its own name as the body. */
    private Channel echo(String name) throws InterruptedException {
        return new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new DubboDecoder(), DubboEncoder.INSTANCE,
                                new ChannelInboundHandlerAdapter() {
                                    @Override
                                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                        try {
                                            if (msg instanceof DubboRequest r && !r.isEvent() && r.isTwoWay()) {
                                                ctx.writeAndFlush(reply(ctx.alloc(), r.requestId(), name));
                                            } else if (msg instanceof DubboRequest r && r.isHeartbeat()) {
                                                ctx.writeAndFlush(DubboResponse.heartbeat(r, ctx.alloc()));
                                            }
                                        } finally {
                                            ReferenceCountUtil.release(msg);
                                        }
                                    }
                                });
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    }

    private static ByteBuf reply(ByteBufAllocator alloc, long id, String name) {
        byte[] body = name.getBytes(UTF_8);
        ByteBuf out = alloc.buffer(DubboMessage.HEADER_LENGTH + body.length);
        out.writeShort(DubboMessage.MAGIC);
        out.writeByte(DubboMessage.SERIALIZATION_HESSIAN2);
        out.writeByte(DubboStatus.OK);
        out.writeLong(id);
        out.writeInt(body.length);
        out.writeBytes(body);
        return out;
    }

    /** Calls {@code sayHello} of service version {@code version}; returns the provider that answered, or the error. */
    private String call(long id, String version) throws InterruptedException {
        client.writeAndFlush(DubboRequest.invocation(ByteBufAllocator.DEFAULT, id, true, IFACE, version, "sayHello",
                new String[] { "Ljava/lang/String;" }, Map.of("interface", IFACE)));
        Object m = received.poll(10, TimeUnit.SECONDS);
        if (m == null) {
            throw new AssertionError("no answer to call " + id);
        }
        try {
            DubboResponse r = (DubboResponse) m;
            assertEquals(id, r.requestId());
            return r.isOk() ? r.body().toString(UTF_8) : "status " + r.status() + ": " + r.errorMessage();
        } finally {
            ReferenceCountUtil.release(m);
        }
    }

    @Test
    void sidecarRoutesDubboCallsByVersionHeaderAndWeight() throws Exception {
        long id = 1;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String last = null;
        while (!"provider-v2".equals(last)) { // until clusters and endpoints have arrived
            assertTrue(System.nanoTime() < deadline, "never reached provider-v2; last answer: " + last);
            last = call(id++, "2.0.0");
            if (!"provider-v2".equals(last)) {
                Thread.sleep(100);
            }
        }
        for (int i = 0; i < 20; i++) {
            assertEquals("provider-v2", call(id++, "2.0.0"));
        }
        Set<String> answered = new HashSet<>();
        for (int i = 0; i < 60; i++) {
            answered.add(call(id++, "1.0.0"));
        }
        assertEquals(Set.of("provider-v1", "provider-v2"), answered);
    }
}
