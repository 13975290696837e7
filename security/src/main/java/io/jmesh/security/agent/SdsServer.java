package io.jmesh.security.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollIoHandler;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

/**
 * Envoy's Secret Discovery Service on a Unix domain socket, as Istio's agent serves it
 * ({@code security/pkg/nodeagent/sds}): {@code envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets},
 * state of the world, with two resources:
 * <ul>
 *   <li>{@code default}: {@code tls_certificate} with the workload's chain and private key (inline bytes);</li>
 *   <li>{@code ROOTCA}: {@code validation_context.trusted_ca} with the mesh root (inline bytes).</li>
 * </ul>
 * A stream gets the names it asks for as soon as a certificate is there, again whenever it asks for other names,
 * and a push on every rotation. A request whose {@code response_nonce} is the last one sent ACKs it; with an
 * {@code error_detail} it NACKs it (logged, counted, not resent); a stale nonce is ignored, as the xDS protocol
 * says. Other names are warned about by name and not served. {@code FetchSecrets} answers once; delta SDS is
 * not served ({@code UNIMPLEMENTED}).
 *
 * <p>Threading: requests on gRPC's threads, pushes on the thread that completed the CA call; each stream's writes
 * are serialized by its own lock.
 */
public final class SdsServer implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(SdsServer.class);

    /** The type URL of {@code envoy.extensions.transport_sockets.tls.v3.Secret}. */
    public static final String SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
    /** Istio's name of the workload certificate secret. */
    public static final String WORKLOAD = "default";
    /** Istio's name of the root certificate secret. */
    public static final String ROOT_CA = "ROOTCA";

    private final Path socket;
    private final SecretCache cache;
    private final Server server;
    private final EventLoopGroup group;
    private final List<SdsStream> streams = new CopyOnWriteArrayList<>();
    private final Consumer<WorkloadSecret> onSecret = this::push;
    private final AtomicLong nonces = new AtomicLong();
    private final AtomicLong acks = new AtomicLong();
    private final AtomicLong nacks = new AtomicLong();

    private SdsServer(Path socket, SecretCache cache) throws IOException {
        this.socket = socket;
        this.cache = cache;
        Path parent = socket.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        // As Istio's agent: a socket file left by an earlier run is removed before listening.
        Files.deleteIfExists(socket);
        this.group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        try {
            this.server = NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                    .channelType(EpollServerDomainSocketChannel.class)
                    .bossEventLoopGroup(group).workerEventLoopGroup(group)
                    .addService(new Service())
                    .build().start();
        } catch (IOException | RuntimeException e) {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
            throw e;
        }
        cache.addListener(onSecret);
    }

    /**
     * Listens on {@code socket} (its directories created, a stale socket file replaced) and serves the secrets of
     * {@code cache}.
     *
     * @throws IOException if the socket cannot be bound
     */
    public static SdsServer start(Path socket, SecretCache cache) throws IOException {
        SdsServer s = new SdsServer(socket, cache);
        logger.info("SDS on unix:{}", socket);
        return s;
    }

    /** The socket path. */
    public Path socket() {
        return socket;
    }

    /** Open StreamSecrets streams. */
    public int streams() {
        return streams.size();
    }

    /** Responses ACKed by clients so far. */
    public long acks() {
        return acks.get();
    }

    /** Responses NACKed by clients so far. */
    public long nacks() {
        return nacks.get();
    }

    private void push(WorkloadSecret secret) {
        for (SdsStream s : streams) {
            s.send(secret, true);
        }
    }

    /** The secrets of {@code names} this agent knows, built from {@code secret}. */
    static List<Secret> secrets(Set<String> names, WorkloadSecret secret) {
        List<Secret> out = new ArrayList<>();
        for (String name : names) {
            if (name.equals(WORKLOAD)) {
                out.add(Secret.newBuilder().setName(WORKLOAD).setTlsCertificate(TlsCertificate.newBuilder()
                        .setCertificateChain(bytes(secret.certChainPem()))
                        .setPrivateKey(bytes(secret.privateKeyPem()))).build());
            } else if (name.equals(ROOT_CA)) {
                out.add(Secret.newBuilder().setName(ROOT_CA).setValidationContext(CertificateValidationContext
                        .newBuilder().setTrustedCa(bytes(secret.rootCertPem()))).build());
            }
        }
        return out;
    }

    private static DataSource bytes(String pem) {
        return DataSource.newBuilder().setInlineBytes(ByteString.copyFrom(pem, StandardCharsets.US_ASCII)).build();
    }

    /** Stops serving, ends the open streams and removes the socket file. */
    @Override
    public void close() {
        cache.removeListener(onSecret);
        server.shutdownNow();
        try {
            server.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            logger.warn("cannot remove {}: {}", socket, e.toString());
        }
    }

    private final class Service extends SecretDiscoveryServiceGrpc.SecretDiscoveryServiceImplBase {
        @Override
        public StreamObserver<DiscoveryRequest> streamSecrets(StreamObserver<DiscoveryResponse> responses) {
            SdsStream s = new SdsStream(responses);
            streams.add(s);
            ((ServerCallStreamObserver<DiscoveryResponse>) responses).setOnCancelHandler(() -> streams.remove(s));
            return s;
        }

        @Override
        public void fetchSecrets(DiscoveryRequest request, StreamObserver<DiscoveryResponse> responses) {
            WorkloadSecret secret = cache.current();
            if (secret == null) {
                responses.onError(Status.UNAVAILABLE.withDescription("no certificate from the CA yet")
                                          .asRuntimeException());
                return;
            }
            DiscoveryResponse.Builder b = DiscoveryResponse.newBuilder().setTypeUrl(SECRET_TYPE)
                    .setVersionInfo(Long.toString(secret.version()));
            secrets(new LinkedHashSet<>(request.getResourceNamesList()), secret).forEach(x -> b.addResources(Any.pack(x)));
            responses.onNext(b.build());
            responses.onCompleted();
        }
    }

    /** One StreamSecrets stream: the names it asked for and the nonce it should answer. */
    private final class SdsStream implements StreamObserver<DiscoveryRequest> {
        private final StreamObserver<DiscoveryResponse> out;
        private Set<String> names = Set.of();
        private String node = "?";
        private String lastNonce;
        private boolean done;

        SdsStream(StreamObserver<DiscoveryResponse> out) {
            this.out = out;
        }

        @Override
        public void onNext(DiscoveryRequest req) {
            synchronized (this) {
                if (done) {
                    return;
                }
                if (req.hasNode()) {
                    node = req.getNode().getId();
                }
                if (!req.getTypeUrl().isEmpty() && !req.getTypeUrl().equals(SECRET_TYPE)) {
                    done = true;
                    streams.remove(this);
                    out.onError(Status.INVALID_ARGUMENT.withDescription("type_url: " + req.getTypeUrl()
                                                                        + " (expected: " + SECRET_TYPE + ")")
                                        .asRuntimeException());
                    return;
                }
                Set<String> asked = new LinkedHashSet<>(req.getResourceNamesList());
                if (!req.getResponseNonce().isEmpty()) {
                    if (!req.getResponseNonce().equals(lastNonce)) {
                        logger.debug("SDS {}: stale nonce {} (last sent {}), ignored", node, req.getResponseNonce(),
                                     lastNonce);
                        return;
                    }
                    if (req.hasErrorDetail()) {
                        nacks.incrementAndGet();
                        logger.warn("SDS {}: NACK of version {} of {}: {}", node, req.getVersionInfo(), names,
                                    req.getErrorDetail().getMessage());
                    } else {
                        acks.incrementAndGet();
                        logger.debug("SDS {}: ACK of version {} of {}", node, req.getVersionInfo(), names);
                    }
                    if (asked.equals(names)) {
                        return;
                    }
                }
                for (String n : asked) {
                    if (!names.contains(n) && !n.equals(WORKLOAD) && !n.equals(ROOT_CA)) {
                        logger.warn("SDS {}: resource_names: {} (expected: {} or {}); not served", node, n,
                                    WORKLOAD, ROOT_CA);
                    }
                }
                names = Set.copyOf(asked);
                // Read under this stream's lock: a push of a newer certificate cannot be overtaken by this one.
                WorkloadSecret secret = cache.current();
                if (secret != null) {
                    sendLocked(secret);
                }
            }
        }

        void send(WorkloadSecret secret, boolean push) {
            synchronized (this) {
                if (!done) {
                    if (push) {
                        logger.info("SDS {}: pushing version {} of {}", node, secret.version(), names);
                    }
                    sendLocked(secret);
                }
            }
        }

        private void sendLocked(WorkloadSecret secret) {
            List<Secret> secrets = secrets(names, secret);
            if (secrets.isEmpty()) {
                return;
            }
            lastNonce = Long.toString(nonces.incrementAndGet());
            DiscoveryResponse.Builder b = DiscoveryResponse.newBuilder().setTypeUrl(SECRET_TYPE)
                    .setVersionInfo(Long.toString(secret.version())).setNonce(lastNonce);
            secrets.forEach(x -> b.addResources(Any.pack(x)));
            out.onNext(b.build());
        }

        @Override
        public void onError(Throwable t) {
            close();
        }

        @Override
        public void onCompleted() {
            synchronized (this) {
                if (!done) {
                    out.onCompleted();
                }
            }
            close();
        }

        private synchronized void close() {
            done = true;
            streams.remove(this);
        }
    }
}
