package io.jmesh.discovery.server;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.jmesh.discovery.xds.Versions;
import io.jmesh.discovery.xds.XdsCache;
import io.jmesh.discovery.xds.ProxyNode;
import io.jmesh.discovery.xds.TypeUrls;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * One ADS stream: who is on it, what it subscribed to per type, and what was sent, ACKed and
 * NACKed. All state is guarded by the connection's monitor; sends happen under it too, so the
 * gRPC request thread and push workers never write to the stream at once. Responses are sent only
 * by push workers, one type at a time while the stream {@linkplain #isReady() is ready}, so a
 * slow client holds at most one unread response here.
 */
final class XdsConnection {

    /** Per-type subscription and sync state. */
    static final class TypeState {
        boolean requested;
        boolean wildcard;
        /** Subscribed names when not wildcard: immutable, and shared by connections with the same subscription. */
        Set<String> names = Set.of();
        /** Delta only: what the client holds, name to content version; empty for state of the world. */
        Map<String, String> sent = Map.of();
        /** A response is owed whatever its content (a new subscription), at the next push. */
        boolean owed;
        /** The content may have changed since the last push (a new snapshot touched this type). */
        boolean stale;
        String sentVersion;
        String sentNonce;
        String ackedVersion;
        String nackedVersion;
        String nackMessage;
        int resourceCount;
        long sentAtNanos;
    }

    final String id;
    final boolean delta;
    final Instant connectedAt = Instant.now();
    final Map<String, TypeState> types = new LinkedHashMap<>();
    private final StreamObserver<DiscoveryResponse> sotwOut;
    private final StreamObserver<DeltaDiscoveryResponse> deltaOut;
    Node node;
    ProxyNode proxy;
    boolean closed;
    /** A push stopped because the stream was not ready; the on-ready handler queues it again. */
    volatile boolean waitingForReady;

    XdsConnection(String id, StreamObserver<DiscoveryResponse> sotwOut, StreamObserver<DeltaDiscoveryResponse> deltaOut) {
        this.id = id;
        this.delta = deltaOut != null;
        this.sotwOut = sotwOut;
        this.deltaOut = deltaOut;
    }

    TypeState type(String typeUrl) {
        return types.computeIfAbsent(typeUrl, k -> new TypeState());
    }

    /**
     * Sends what the client should now hold of {@code g}'s type, given every resource of that type
     * for this proxy. Returns whether a response was sent: nothing is sent when the client already
     * holds exactly that, unless {@code force}. State of the world keeps only the version of the set
     * last sent (the protocol resends the whole set anyway); delta keeps a version per resource.
     */
    boolean send(XdsCache.Generated g, boolean force) {
        String typeUrl = g.typeUrl();
        TypeState ts = type(typeUrl);
        if (!ts.requested || closed) {
            return false;
        }
        Map<String, Any> wanted = g.resources();
        Map<String, String> versions = g.versions();
        String version = g.version();
        if (!ts.wildcard && !ts.names.containsAll(g.resources().keySet())) {
            wanted = new LinkedHashMap<>();
            versions = new LinkedHashMap<>();
            for (Map.Entry<String, Any> e : g.resources().entrySet()) {
                if (ts.names.contains(e.getKey())) {
                    wanted.put(e.getKey(), e.getValue());
                    versions.put(e.getKey(), g.versions().get(e.getKey()));
                }
            }
            version = Versions.ofSet(versions);
        }
        if (!delta && !force && version.equals(ts.sentVersion)) {
            return false;
        }
        String nonce = UUID.randomUUID().toString();
        if (!delta) {
            sotwOut.onNext(DiscoveryResponse.newBuilder().setTypeUrl(typeUrl).setNonce(nonce)
                    .setVersionInfo(version).addAllResources(wanted.values()).build());
        } else {
            DeltaDiscoveryResponse.Builder r = DeltaDiscoveryResponse.newBuilder().setTypeUrl(typeUrl)
                    .setNonce(nonce).setSystemVersionInfo(version);
            for (Map.Entry<String, Any> e : wanted.entrySet()) {
                String v = versions.get(e.getKey());
                if (!v.equals(ts.sent.get(e.getKey()))) {
                    r.addResources(Resource.newBuilder().setName(e.getKey()).setVersion(v).setResource(e.getValue()));
                }
            }
            for (String name : ts.sent.keySet()) {
                if (!versions.containsKey(name)) {
                    r.addRemovedResources(name);
                }
            }
            if (!force && r.getResourcesCount() == 0 && r.getRemovedResourcesCount() == 0) {
                return false;
            }
            deltaOut.onNext(r.build());
            ts.sent = new HashMap<>(versions);
        }
        ts.sentVersion = version;
        ts.sentNonce = nonce;
        ts.resourceCount = versions.size();
        ts.sentAtNanos = System.nanoTime();
        return true;
    }

    /**
     * Marks the requested types that {@code scope} may change as stale; returns whether any was.
     */
    synchronized boolean markStale(XdsCache.Scope scope) {
        if (closed || proxy == null) {
            return false;
        }
        boolean any = false;
        for (Map.Entry<String, TypeState> e : types.entrySet()) {
            if (e.getValue().requested && scope.affects(e.getKey(), proxy.ip())) {
                e.getValue().stale = true;
                any = true;
            }
        }
        return any;
    }

    /**
     * Returns whether the stream can take a response now without buffering it (gRPC flow
     * control); always true for an observer that is not a server call's.
     */
    boolean isReady() {
        Object out = delta ? deltaOut : sotwOut;
        return !(out instanceof ServerCallStreamObserver<?> s) || s.isReady();
    }

    /** Returns the types the client asked for, in push order. */
    List<String> requestedTypes() {
        return TypeUrls.ALL.stream().filter(t -> types.containsKey(t) && types.get(t).requested).toList();
    }

    synchronized ProxyStatus status() {
        Map<String, ProxyStatus.TypeStatus> out = new LinkedHashMap<>();
        types.forEach((t, s) -> out.put(TypeUrls.shortName(t), new ProxyStatus.TypeStatus(s.sentVersion, s.sentNonce,
                s.ackedVersion, s.nackedVersion, s.nackMessage, s.resourceCount)));
        return new ProxyStatus(id, node == null ? "" : node.getId(),
                proxy == null ? "" : proxy.type().name(), delta, connectedAt, out);
    }

    @Override
    public String toString() {
        return "[" + id + (node == null ? "" : " " + node.getId()) + "]";
    }
}
