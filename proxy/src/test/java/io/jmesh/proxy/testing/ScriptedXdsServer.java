package io.jmesh.proxy.testing;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import com.google.protobuf.Any;
import com.google.protobuf.Message;

import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.StreamObserver;

/**
 * A real gRPC xDS server for tests, serving state-of-the-world ADS
 * ({@code AggregatedDiscoveryService}) and SDS ({@code SecretDiscoveryService}) from resources the test sets
 * with {@link #set}: a stream gets the current resources of a type when it first asks for that type and again
 * on every {@link #set}. ACKs and NACKs are recorded, not acted on. Listens on 127.0.0.1 port 0 or on a Unix
 * domain socket (Netty epoll, as Istio's agent serves SDS).
 */
public final class ScriptedXdsServer implements AutoCloseable {

    private final Server server;
    private final EventLoopGroup group;
    private final Map<String, DiscoveryResponse> state = new ConcurrentHashMap<>();
    private final List<Stream> streams = new CopyOnWriteArrayList<>();
    private final AtomicLong nonces = new AtomicLong();
    /** Every request received, in order. */
    public final List<DiscoveryRequest> requests = new CopyOnWriteArrayList<>();

    private final class Stream implements StreamObserver<DiscoveryRequest> {
        final StreamObserver<DiscoveryResponse> out;
        final Map<String, Boolean> subscribed = new ConcurrentHashMap<>();

        Stream(StreamObserver<DiscoveryResponse> out) {
            this.out = out;
        }

        @Override
        public void onNext(DiscoveryRequest r) {
            requests.add(r);
            if (subscribed.putIfAbsent(r.getTypeUrl(), true) == null) {
                DiscoveryResponse current = state.get(r.getTypeUrl());
                if (current != null) {
                    send(current);
                }
            }
        }

        synchronized void send(DiscoveryResponse r) {
            out.onNext(r.toBuilder().setNonce(Long.toString(nonces.incrementAndGet())).build());
        }

        @Override
        public void onError(Throwable t) {
            streams.remove(this);
        }

        @Override
        public void onCompleted() {
            streams.remove(this);
            out.onCompleted();
        }
    }

    private ScriptedXdsServer(NettyServerBuilder builder, EventLoopGroup group) throws IOException {
        this.group = group;
        this.server = builder
                .addService(new AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase() {
                    @Override
                    public StreamObserver<DiscoveryRequest> streamAggregatedResources(
                            StreamObserver<DiscoveryResponse> out) {
                        return open(out);
                    }
                })
                .addService(new SecretDiscoveryServiceGrpc.SecretDiscoveryServiceImplBase() {
                    @Override
                    public StreamObserver<DiscoveryRequest> streamSecrets(StreamObserver<DiscoveryResponse> out) {
                        return open(out);
                    }
                })
                .build().start();
    }

    private Stream open(StreamObserver<DiscoveryResponse> out) {
        Stream s = new Stream(out);
        streams.add(s);
        return s;
    }

    /** A server on 127.0.0.1, port 0. */
    public static ScriptedXdsServer tcp() throws IOException {
        return new ScriptedXdsServer(NettyServerBuilder.forAddress(new java.net.InetSocketAddress("127.0.0.1", 0)),
                                     null);
    }

    /** A server on the Unix domain socket {@code path}. */
    public static ScriptedXdsServer uds(Path path) throws IOException {
        EventLoopGroup g = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        return new ScriptedXdsServer(NettyServerBuilder.forAddress(new DomainSocketAddress(path.toString()))
                                                       .channelType(EpollServerDomainSocketChannel.class)
                                                       .bossEventLoopGroup(g).workerEventLoopGroup(g), g);
    }

    /** The TCP port (for {@link #tcp()}). */
    public int port() {
        return ((java.net.InetSocketAddress) server.getListenSockets().get(0)).getPort();
    }

    /** Sets the resources of {@code typeUrl} at {@code version} and pushes them to every stream that asked. */
    public void set(String typeUrl, String version, Message... resources) {
        DiscoveryResponse.Builder b = DiscoveryResponse.newBuilder().setTypeUrl(typeUrl).setVersionInfo(version);
        for (Message m : resources) {
            b.addResources(Any.pack(m));
        }
        DiscoveryResponse r = b.build();
        state.put(typeUrl, r);
        for (Stream s : streams) {
            if (s.subscribed.containsKey(typeUrl)) {
                s.send(r);
            }
        }
    }

    /** Whether some stream has asked for {@code typeUrl} with {@code name} among its resource names. */
    public boolean asked(String typeUrl, String name) {
        return requests.stream().anyMatch(r -> r.getTypeUrl().equals(typeUrl) && r.getResourceNamesList().contains(name));
    }

    @Override
    public void close() {
        try {
            server.shutdownNow().awaitTermination(5, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (group != null) {
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
