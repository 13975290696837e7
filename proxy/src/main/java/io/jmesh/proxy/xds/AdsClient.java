package io.jmesh.proxy.xds;

import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.Any;
import com.google.rpc.Code;
import com.google.rpc.Status;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.jmesh.proxy.config.ConfigException;

/**
 * A state-of-the-world ADS client ({@code envoy.service.discovery.v3.AggregatedDiscoveryService/
 * StreamAggregatedResources}, see Envoy's
 * <a href="https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol">xDS protocol</a>).
 *
 * <p>It keeps one stream open, sends the {@link Node} on every request, subscribes to the types and resource
 * names given to {@link #subscribe}, hands each response to the {@link ResourceHandler} and then ACKs it
 * ({@code version_info} and {@code response_nonce} of the response) or NACKs it ({@code version_info} of the
 * last accepted response, the nonce, and {@code error_detail} with the {@link ConfigException} message).
 * When the stream fails it reconnects with jittered exponential back-off (0.5 s doubling to 30 s, reset by a
 * response) and re-sends every subscription with the last accepted versions; the handler keeps whatever it
 * applied meanwhile.
 *
 * <p>Threading: every callback of the handler, and every method of this class except {@link #close()}, runs
 * on the single thread of {@code executor} (the caller's "xDS thread"); the handler may block there (build
 * config, bind sockets) but never an event loop.
 */
public final class AdsClient implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(AdsClient.class);

    /** First reconnect delay. */
    public static final long INITIAL_BACKOFF_MILLIS = 500;
    /** Longest reconnect delay. */
    public static final long MAX_BACKOFF_MILLIS = 30_000;

    /** Types whose request without names means "all" (CDS and LDS). */
    private static final Set<String> WILDCARD_TYPES = Set.of(
            "type.googleapis.com/envoy.config.cluster.v3.Cluster",
            "type.googleapis.com/envoy.config.listener.v3.Listener");

    /** Receives the resources of one response; throwing NACKs it. */
    public interface ResourceHandler {
        /**
         * Validates and applies every resource of one state-of-the-world response of {@code typeUrl}. Throwing
         * rejects the response whole: the client NACKs it with the message and the handler must have kept its
         * previous config.
         */
        void onResources(String typeUrl, String version, List<Any> resources) throws ConfigException;
    }

    private static final class Subscription {
        final String typeUrl;
        Set<String> names;
        String ackedVersion = "";
        String nonce = "";

        Subscription(String typeUrl, Set<String> names) {
            this.typeUrl = typeUrl;
            this.names = names;
        }
    }

    /** Opens one xDS stream on a channel: ADS, or a single-type service such as SDS. */
    public interface StreamOpener {
        StreamObserver<DiscoveryRequest> open(ManagedChannel channel, StreamObserver<DiscoveryResponse> responses);
    }

    /** {@code envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources}. */
    public static final StreamOpener ADS = (ch, responses) ->
            AggregatedDiscoveryServiceGrpc.newStub(ch).streamAggregatedResources(responses);

    /** {@code envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets}. */
    public static final StreamOpener SDS = (ch, responses) ->
            io.envoyproxy.envoy.service.secret.v3.SecretDiscoveryServiceGrpc.newStub(ch).streamSecrets(responses);

    private final ManagedChannel channel;
    private final CountDownLatch closeRan = new CountDownLatch(1);
    private final StreamOpener opener;
    private final Node node;
    private final ResourceHandler handler;
    private final ScheduledExecutorService executor;
    private final Map<String, Subscription> subscriptions = new HashMap<>();
    private StreamObserver<DiscoveryRequest> requests;
    private long generation;
    private long backoffMillis = INITIAL_BACKOFF_MILLIS;
    private volatile boolean closed;
    private volatile boolean connected;
    private volatile String lastError;

    /**
     * Creates a client for {@code target} ({@code host:port}, plaintext gRPC); {@link #start()} opens the stream.
     *
     * @param executor a single-threaded executor: the xDS thread
     */
    public AdsClient(String target, Node node, ResourceHandler handler, ScheduledExecutorService executor) {
        this(channel(target, executor), ADS, node, handler, executor);
    }

    /**
     * Creates a client for {@code target} ({@code host:port}) over {@code transport} (plaintext, or TLS verified
     * against the mesh root, see {@link AdsBootstrap#adsTransport}); {@link #start()} opens the stream.
     */
    public AdsClient(String target, AdsBootstrap.AdsTransport transport, Node node, ResourceHandler handler,
                     ScheduledExecutorService executor) {
        this(channel(target, executor, transport), ADS, node, handler, executor);
    }

    /**
     * Creates a client of the stream {@code opener} opens on {@code channel} (closed by {@link #close()}), for
     * example {@link #SDS} on a channel to Istio's agent over a Unix domain socket.
     */
    public AdsClient(ManagedChannel channel, StreamOpener opener, Node node, ResourceHandler handler,
                     ScheduledExecutorService executor) {
        this.channel = channel;
        this.opener = opener;
        this.node = node;
        this.handler = handler;
        this.executor = executor;
    }

    /**
     * A plaintext gRPC channel to {@code target}: {@code host:port}, or {@code unix:/path} for a Unix domain
     * socket (Netty's epoll domain sockets, as Istio's agent serves SDS on {@code /etc/istio/proxy/SDS}).
     */
    public static ManagedChannel channel(String target, ScheduledExecutorService executor) {
        ManagedChannelBuilder<?> b = target.startsWith("unix:")
                ? io.grpc.Grpc.newChannelBuilder(target, io.grpc.InsecureChannelCredentials.create())
                : ManagedChannelBuilder.forTarget(target).usePlaintext();
        return b.executor(executor).keepAliveTime(30, TimeUnit.SECONDS).build();
    }

    /** A gRPC channel to {@code host:port} over {@code transport}'s credentials and authority. */
    public static ManagedChannel channel(String target, ScheduledExecutorService executor,
                                         AdsBootstrap.AdsTransport transport) {
        ManagedChannelBuilder<?> b = io.grpc.Grpc.newChannelBuilder(target, transport.credentials());
        if (transport.authority() != null) {
            b.overrideAuthority(transport.authority());
        }
        return b.executor(executor).keepAliveTime(30, TimeUnit.SECONDS).build();
    }

    /**
     * Why the stream last ended, with the root cause (e.g. a server certificate not signed by the trusted
     * root), or null if it never failed.
     */
    public String lastError() {
        return lastError;
    }

    /** Opens the stream (asynchronously, on the xDS thread). */
    public void start() {
        executor.execute(this::connect);
    }

    /**
     * Sets the resource names of {@code typeUrl} (an empty set for a wildcard subscription of CDS or LDS) and
     * tells the server if they changed. Call on the xDS thread.
     */
    public void subscribe(String typeUrl, Set<String> names) {
        Subscription s = subscriptions.get(typeUrl);
        Set<String> copy = new LinkedHashSet<>(names);
        if (s == null && copy.isEmpty() && !WILDCARD_TYPES.contains(typeUrl)) {
            return; // nothing to ask for yet (an empty EDS or RDS request would mean "none")
        }
        if (s == null) {
            s = new Subscription(typeUrl, copy);
            subscriptions.put(typeUrl, s);
        } else if (s.names.equals(copy)) {
            return;
        } else {
            s.names = copy;
        }
        if (requests != null) {
            send(s, s.ackedVersion, null);
        }
    }

    /** Whether the stream has received a response since it last (re)connected. */
    public boolean connected() {
        return connected;
    }

    private void connect() {
        if (closed) {
            return;
        }
        long gen = ++generation;
        requests = opener.open(channel, new StreamObserver<>() {
            @Override
            public void onNext(DiscoveryResponse response) {
                if (gen == generation) {
                    onResponse(response);
                }
            }

            @Override
            public void onError(Throwable t) {
                if (gen == generation) {
                    onStreamClosed(describe(t));
                }
            }

            @Override
            public void onCompleted() {
                if (gen == generation) {
                    onStreamClosed("closed by the server");
                }
            }
        });
        for (Subscription s : subscriptions.values()) {
            s.nonce = "";
            send(s, s.ackedVersion, null);
        }
    }

    /**
     * The status code and the deepest cause; a failed TLS handshake says so, with the reason (e.g. the control
     * plane's certificate not signed by a trusted root).
     */
    static String describe(Throwable t) {
        Throwable root = t;
        boolean tls = false;
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            root = c;
            tls |= c instanceof javax.net.ssl.SSLException || c instanceof java.security.cert.CertificateException;
        }
        String status = t instanceof io.grpc.StatusRuntimeException sre ? sre.getStatus().getCode().toString()
                : t.getClass().getSimpleName();
        if (tls) {
            return status + ": TLS handshake failed: " + root.getMessage()
                    + " (expected: the server's certificate signed by a root of trusted_ca, with the expected SANs)";
        }
        if (t instanceof io.grpc.StatusRuntimeException sre) {
            String d = sre.getStatus().getDescription();
            return status + (d == null ? "" : ": " + d) + (root == t || root.getMessage() == null ? ""
                    : " (" + root.getMessage() + ")");
        }
        return t.toString();
    }

    private void onStreamClosed(String why) {
        lastError = why;
        requests = null;
        connected = false;
        if (closed) {
            return;
        }
        long delay = ThreadLocalRandom.current().nextLong(backoffMillis / 2, backoffMillis + 1);
        logger.warn("ADS stream to {} ended ({}); keeping the last good config, reconnecting in {} ms",
                channel.authority(), why, delay);
        backoffMillis = Math.min(MAX_BACKOFF_MILLIS, backoffMillis * 2);
        executor.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
    }

    private void onResponse(DiscoveryResponse r) {
        connected = true;
        backoffMillis = INITIAL_BACKOFF_MILLIS;
        Subscription s = subscriptions.get(r.getTypeUrl());
        if (s == null) {
            logger.debug("ignoring a response of unsubscribed type {}", r.getTypeUrl());
            return;
        }
        s.nonce = r.getNonce();
        try {
            handler.onResources(r.getTypeUrl(), r.getVersionInfo(), r.getResourcesList());
            s.ackedVersion = r.getVersionInfo();
            send(s, s.ackedVersion, null);
        } catch (ConfigException | RuntimeException e) {
            String message = e instanceof ConfigException ? e.getMessage() : e.toString();
            logger.warn("NACK {} version {}: {}", shortName(r.getTypeUrl()), r.getVersionInfo(), message);
            if (!(e instanceof ConfigException)) {
                logger.warn("unexpected error applying {}", shortName(r.getTypeUrl()), e);
            }
            send(s, s.ackedVersion, message);
        }
    }

    private void send(Subscription s, String version, String error) {
        StreamObserver<DiscoveryRequest> out = requests;
        if (out == null) {
            return;
        }
        DiscoveryRequest.Builder b = DiscoveryRequest.newBuilder()
                .setNode(node)
                .setTypeUrl(s.typeUrl)
                .setVersionInfo(version)
                .setResponseNonce(s.nonce)
                .addAllResourceNames(s.names);
        if (error != null) {
            b.setErrorDetail(Status.newBuilder().setCode(Code.INVALID_ARGUMENT_VALUE).setMessage(error));
        }
        out.onNext(b.build());
    }

    static String shortName(String typeUrl) {
        return typeUrl.substring(typeUrl.lastIndexOf('.') + 1);
    }

    /** Ends the stream and the channel; no more callbacks after the executor has run what it holds. */
    @Override
    public void close() {
        closed = true;
        executor.execute(() -> {
            StreamObserver<DiscoveryRequest> out = requests;
            requests = null;
            generation++;
            if (out != null) {
                try {
                    out.onCompleted();
                } catch (RuntimeException ignored) {
                    // the stream may already be dead
                }
            }
            channel.shutdownNow();
            closeRan.countDown();
        });
    }

    /**
     * Waits, on a thread other than the xDS thread, until {@link #close()} has run there and the channel has
     * terminated, at most {@code timeout}; true when both happened. Shut the xDS executor down only after this: the
     * channel delivers its last callbacks on that executor, and one rejected by a shut-down executor made gRPC log
     * "Uncaught exception in the SynchronizationContext. Panic!" at every proxy stop.
     */
    public boolean awaitClosed(long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        return closeRan.await(timeout, unit)
                && channel.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    }
}
