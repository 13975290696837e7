package io.jmesh.discovery.server;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.discovery.xds.ProxyNode;
import io.jmesh.discovery.xds.TypeUrls;
import io.jmesh.discovery.xds.XdsCache;
import io.jmesh.proxy.config.ConfigException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ADS server: {@code StreamAggregatedResources} (state of the world) and
 * {@code DeltaAggregatedResources} (incremental) over one gRPC service, with per-proxy
 * generation.
 *
 * <p>Our own stream handling rather than java-control-plane's {@code V3DiscoveryServer}: its
 * server answers from a {@code SnapshotCache} keyed by node group, which would mean computing and
 * storing a complete snapshot per proxy on every change even for proxies that are not connected,
 * and it exposes neither per-type ACK/NACK state nor a bounded push queue. Here a config change
 * updates one {@link MeshSnapshot}, every connection is queued on a {@link PushQueue} (whose worker
 * count bounds concurrent pushes), and a worker generates that proxy's resources and sends only
 * the types whose content changed (delta streams: only the changed resources and the removed
 * names).
 *
 * <p>Push scope: {@link #update} asks the cache what the new snapshot may change
 * ({@link XdsCache.Scope}: a VirtualService change touches LDS and RDS, an endpoint change EDS,
 * a ServiceEntry everything) and queues only connections with such a type; their push checks only
 * those types. Within them, a type whose content version did not change is not sent at all (for
 * state of the world too: istiod resends a full push's types whatever their content, jmesh does
 * not, since its versions are content hashes).
 *
 * <p>Protocol: the first request on a stream must carry a {@link Node}; a request with an empty
 * {@code response_nonce} subscribes and is answered by the push queue (never on gRPC's request
 * thread, so a burst of connecting proxies generates at most {@code pushConcurrency} configs at
 * once); a request whose nonce matches the
 * last response of its type is an ACK, or a NACK when it carries {@code error_detail} (recorded,
 * nothing resent); a request with an older nonce is ignored, as in Istio. Versions are content
 * hashes per type, so an unchanged type keeps its version.
 *
 * <p>Memory: generated resources come from an {@link XdsCache} shared by all connections, so
 * proxies of the same shape share one set of packed messages; a push sends one type at a time and
 * stops while the stream is not ready (gRPC flow control), resuming from its on-ready handler.
 */
public final class AdsService extends AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase
        implements AutoCloseable {

    private static final Logger logger = LoggerFactory.getLogger(AdsService.class);

    private final Map<String, XdsConnection> connections = new ConcurrentHashMap<>();
    private final AtomicLong connectionIds = new AtomicLong();
    private final XdsMetrics metrics;
    private final PushQueue queue;
    private final XdsCache cache = new XdsCache();
    private final SubscriptionInterner subscriptions = new SubscriptionInterner();
    private volatile MeshSnapshot snapshot = MeshSnapshot.empty();
    private volatile long triggeredAtNanos = System.nanoTime();

    /** Creates a server whose push queue runs {@code pushConcurrency} workers. */
    public AdsService(XdsMetrics metrics, int pushConcurrency) {
        this.metrics = metrics;
        this.queue = new PushQueue(pushConcurrency, this::pushAll);
        metrics.setConnected(() -> connections.size());
        Map<String, LongSupplier> rejects = new java.util.HashMap<>();
        for (String t : TypeUrls.ALL) {
            rejects.put(TypeUrls.shortName(t), () -> connections.values().stream()
                    .filter(c -> {
                        synchronized (c) {
                            XdsConnection.TypeState s = c.types.get(t);
                            return s != null && s.sentVersion != null && s.sentVersion.equals(s.nackedVersion);
                        }
                    }).count());
        }
        metrics.setCurrentRejects(rejects);
    }

    /**
     * Makes {@code next} the current snapshot and queues a push to every connection that it may
     * change; a snapshot older than the current one (by {@link MeshSnapshot#version()}) is ignored.
     *
     * @param triggeredAtNanos {@link System#nanoTime()} of the first change it contains, for
     *                         {@code pilot_proxy_convergence_time}
     */
    public synchronized void update(MeshSnapshot next, long triggeredAtNanos) {
        if (next.version() < snapshot.version()) {
            // Two builders raced (the first snapshot at start and a debounced one): the newer wins.
            // Serving the older one would also defeat the cache, which only caches the newest.
            logger.debug("snapshot {} is older than {}; ignored", next.version(), snapshot.version());
            return;
        }
        XdsCache.Scope scope = cache.advance(next);
        this.snapshot = next;
        this.triggeredAtNanos = triggeredAtNanos;
        if (scope.isEmpty()) {
            logger.debug("snapshot {} changes no xDS type", next.version());
            return;
        }
        logger.debug("snapshot {} may change {} (and CDS/LDS at {} workload addresses)", next.version(),
                scope.types().stream().map(TypeUrls::shortName).toList(), scope.workloadIps().size());
        for (XdsConnection c : connections.values()) {
            if (c.markStale(scope)) {
                queue.enqueue(c);
            }
        }
    }

    /** Returns the current snapshot. */
    public MeshSnapshot snapshot() {
        return snapshot;
    }

    /** Returns every connected client's sync status. */
    public List<ProxyStatus> statuses() {
        List<ProxyStatus> out = new ArrayList<>();
        for (XdsConnection c : connections.values()) {
            out.add(c.status());
        }
        out.sort(java.util.Comparator.comparing(ProxyStatus::nodeId).thenComparing(ProxyStatus::connectionId));
        return out;
    }

    /** Returns the node of a connected client with {@code nodeId}, or {@code null}. */
    public ProxyNode proxy(String nodeId) {
        for (XdsConnection c : connections.values()) {
            synchronized (c) {
                if (c.node != null && c.node.getId().equals(nodeId)) {
                    return c.proxy;
                }
            }
        }
        return null;
    }

    @Override
    public StreamObserver<DiscoveryRequest> streamAggregatedResources(StreamObserver<DiscoveryResponse> out) {
        XdsConnection c = new XdsConnection("sotw-" + connectionIds.incrementAndGet(), out, null);
        onReady(c, out);
        return new StreamObserver<>() {
            @Override
            public void onNext(DiscoveryRequest req) {
                onSotwRequest(c, req, out);
            }

            @Override
            public void onError(Throwable t) {
                close(c, null);
            }

            @Override
            public void onCompleted() {
                close(c, out);
            }
        };
    }

    @Override
    public StreamObserver<DeltaDiscoveryRequest> deltaAggregatedResources(StreamObserver<DeltaDiscoveryResponse> out) {
        XdsConnection c = new XdsConnection("delta-" + connectionIds.incrementAndGet(), null, out);
        onReady(c, out);
        return new StreamObserver<>() {
            @Override
            public void onNext(DeltaDiscoveryRequest req) {
                onDeltaRequest(c, req, out);
            }

            @Override
            public void onError(Throwable t) {
                close(c, null);
            }

            @Override
            public void onCompleted() {
                close(c, out);
            }
        };
    }

    private void onSotwRequest(XdsConnection c, DiscoveryRequest req, StreamObserver<DiscoveryResponse> out) {
        synchronized (c) {
            if (c.closed || !identify(c, req.hasNode() ? req.getNode() : null, out)) {
                return;
            }
            String type = req.getTypeUrl();
            if (!TypeUrls.ALL.contains(type)) {
                logger.debug("{} asked for unsupported type {}", c, type);
                return;
            }
            XdsConnection.TypeState ts = c.type(type);
            Set<String> names = new HashSet<>(req.getResourceNamesList());
            boolean wildcard = TypeUrls.isWildcardType(type) && (names.isEmpty() || names.contains("*"));
            if (!req.getResponseNonce().isEmpty()) {
                if (!req.getResponseNonce().equals(ts.sentNonce)) {
                    logger.debug("{} {} stale nonce {}", c, TypeUrls.shortName(type), req.getResponseNonce());
                    return;
                }
                if (req.hasErrorDetail()) {
                    nack(c, ts, type, req.getErrorDetail().getMessage());
                    return;
                }
                ack(c, ts, type, req.getVersionInfo());
                if (ts.wildcard == wildcard && (wildcard || ts.names.equals(names))) {
                    return;
                }
            }
            ts.requested = true;
            ts.wildcard = wildcard;
            ts.names = wildcard ? Set.of() : subscriptions.intern(names);
            ts.owed = true;
            queue.enqueue(c);
        }
    }

    private void onDeltaRequest(XdsConnection c, DeltaDiscoveryRequest req, StreamObserver<DeltaDiscoveryResponse> out) {
        synchronized (c) {
            if (c.closed || !identify(c, req.hasNode() ? req.getNode() : null, out)) {
                return;
            }
            String type = req.getTypeUrl();
            if (!TypeUrls.ALL.contains(type)) {
                return;
            }
            XdsConnection.TypeState ts = c.type(type);
            if (!req.getResponseNonce().isEmpty() && req.getResponseNonce().equals(ts.sentNonce)) {
                if (req.hasErrorDetail()) {
                    nack(c, ts, type, req.getErrorDetail().getMessage());
                } else {
                    ack(c, ts, type, ts.sentVersion);
                }
            }
            boolean first = !ts.requested;
            boolean changed = first;
            if (first) {
                ts.requested = true;
                ts.wildcard = TypeUrls.isWildcardType(type) && req.getResourceNamesSubscribeCount() == 0;
                ts.sent = new java.util.HashMap<>(req.getInitialResourceVersionsMap());
            }
            Set<String> names = new HashSet<>(ts.names);
            for (String n : req.getResourceNamesSubscribeList()) {
                changed |= n.equals("*") ? !ts.wildcard : names.add(n);
                if (n.equals("*")) {
                    ts.wildcard = true;
                }
            }
            for (String n : req.getResourceNamesUnsubscribeList()) {
                if (n.equals("*")) {
                    ts.wildcard = false;
                } else {
                    names.remove(n);
                }
                ts.sent.remove(n);
            }
            ts.names = subscriptions.intern(names);
            if (changed) {
                ts.owed |= first;
                ts.stale = true;
                queue.enqueue(c);
            }
        }
    }

    /** Reads the node on the first request; returns false (and ends the stream) when it is unusable. */
    private boolean identify(XdsConnection c, Node node, StreamObserver<?> out) {
        if (c.proxy != null) {
            return true;
        }
        if (node == null) {
            out.onError(Status.INVALID_ARGUMENT.withDescription("node: missing (expected: on the first request)")
                    .asRuntimeException());
            c.closed = true;
            return false;
        }
        try {
            c.proxy = ProxyNode.of(node);
            c.node = node;
        } catch (ConfigException e) {
            out.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
            c.closed = true;
            return false;
        }
        connections.put(c.id, c);
        logger.info("{} connected: {} in {}", c, c.proxy.type(), c.proxy.namespace());
        return true;
    }

    private void ack(XdsConnection c, XdsConnection.TypeState ts, String type, String version) {
        ts.ackedVersion = version;
        logger.debug("{} ACK {} {}", c, TypeUrls.shortName(type), version);
    }

    private void nack(XdsConnection c, XdsConnection.TypeState ts, String type, String message) {
        ts.nackedVersion = ts.sentVersion;
        ts.nackMessage = message;
        metrics.recordReject(type);
        logger.warn("{} NACK {} version {}: {}", c, TypeUrls.shortName(type), ts.sentVersion, message);
    }

    private void onReady(XdsConnection c, StreamObserver<?> out) {
        if (out instanceof ServerCallStreamObserver<?> call) {
            call.setOnReadyHandler(() -> {
                if (c.waitingForReady) {
                    queue.enqueue(c);
                }
            });
        }
    }

    /**
     * Brings {@code c} up to the current snapshot: each requested type that is owed a response or
     * whose content changed, in CDS, EDS, LDS, RDS order, one at a time while the stream is ready.
     */
    private void pushAll(XdsConnection c) {
        synchronized (c) {
            if (c.closed || c.proxy == null) {
                return;
            }
            // Read under the connection's monitor: update() publishes the snapshot before it marks
            // types stale under the same monitor, so a stale mark is never cleared with an older snapshot.
            MeshSnapshot s = snapshot;
            long triggered = triggeredAtNanos;
            c.waitingForReady = false;
            boolean any = false;
            for (String type : c.requestedTypes()) {
                if (!c.isReady()) {
                    // The on-ready handler queues this connection again; the next push resumes here.
                    c.waitingForReady = true;
                    if (c.isReady()) {
                        queue.enqueue(c);
                    }
                    break;
                }
                XdsConnection.TypeState ts = c.type(type);
                if (!ts.owed && !ts.stale) {
                    continue;
                }
                try {
                    long start = System.nanoTime();
                    XdsCache.Generated g = cache.get(type, c.proxy, s);
                    boolean owed = ts.owed;
                    if (c.send(g, owed)) {
                        metrics.recordPush(type, System.nanoTime() - start);
                        any |= !owed;
                    }
                    ts.owed = false;
                    ts.stale = false;
                } catch (RuntimeException e) {
                    logger.debug("{} push failed", c, e);
                    close(c, null);
                    return;
                }
            }
            if (any) {
                metrics.recordConvergence(System.nanoTime() - triggered);
            }
        }
    }

    /** Returns the cache of generated resources shared by all connections. */
    public XdsCache cache() {
        return cache;
    }

    private void close(XdsConnection c, StreamObserver<?> out) {
        synchronized (c) {
            if (c.closed && out == null) {
                connections.remove(c.id);
                return;
            }
            c.closed = true;
        }
        connections.remove(c.id);
        if (out != null) {
            try {
                out.onCompleted();
            } catch (RuntimeException e) {
                logger.debug("{} already closed", c, e);
            }
        }
        logger.info("{} disconnected", c);
    }

    /** Returns how many connections have a push stopped by gRPC flow control, waiting for the client to read. */
    public long waitingForReady() {
        return connections.values().stream().filter(c -> c.waitingForReady).count();
    }

    /** Returns how many connections wait for a push. */
    public int queued() {
        return queue.size();
    }

    @Override
    public void close() {
        queue.close();
    }
}
