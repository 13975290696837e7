package io.jmesh.discovery.server;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.stub.StreamObserver;
import io.jmesh.discovery.xds.ProxyNode;
import io.jmesh.discovery.xds.TypeUrls;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;

/**
 * One ADS stream: who is on it, what it subscribed to per type, and what was sent, ACKed and
 * NACKed. All state is guarded by the connection's monitor; sends happen under it too, so the
 * gRPC request thread and push workers never write to the stream at once.
 */
final class XdsConnection {

    /** Per-type subscription and sync state. */
    static final class TypeState {
        boolean requested;
        boolean wildcard;
        final Set<String> names = new TreeSet<>();
        /** What the client holds: name to content version (SotW: the last response; delta: per resource). */
        Map<String, String> sent = new HashMap<>();
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
     * Sends what the client should now hold of {@code typeUrl}, given every resource of that type
     * for this proxy. Returns whether a response was sent: nothing is sent when the client already
     * holds exactly that, unless {@code force}.
     */
    boolean send(String typeUrl, Map<String, Message> all, boolean force) {
        TypeState ts = type(typeUrl);
        if (!ts.requested || closed) {
            return false;
        }
        Map<String, Message> wanted = new TreeMap<>();
        for (Map.Entry<String, Message> e : all.entrySet()) {
            if (ts.wildcard || ts.names.contains(e.getKey())) {
                wanted.put(e.getKey(), e.getValue());
            }
        }
        Map<String, String> versions = new TreeMap<>();
        wanted.forEach((k, v) -> versions.put(k, Versions.of(v)));
        String nonce = UUID.randomUUID().toString();
        String version = setVersion(versions);
        if (!delta) {
            if (!force && versions.equals(ts.sent)) {
                return false;
            }
            DiscoveryResponse.Builder r = DiscoveryResponse.newBuilder().setTypeUrl(typeUrl).setNonce(nonce)
                    .setVersionInfo(version);
            wanted.values().forEach(m -> r.addResources(Any.pack(m)));
            sotwOut.onNext(r.build());
        } else {
            DeltaDiscoveryResponse.Builder r = DeltaDiscoveryResponse.newBuilder().setTypeUrl(typeUrl)
                    .setNonce(nonce).setSystemVersionInfo(version);
            for (Map.Entry<String, Message> e : wanted.entrySet()) {
                String v = versions.get(e.getKey());
                if (!v.equals(ts.sent.get(e.getKey()))) {
                    r.addResources(Resource.newBuilder().setName(e.getKey()).setVersion(v)
                            .setResource(Any.pack(e.getValue())));
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
        }
        ts.sent = new HashMap<>(versions);
        ts.sentVersion = version;
        ts.sentNonce = nonce;
        ts.resourceCount = versions.size();
        ts.sentAtNanos = System.nanoTime();
        return true;
    }

    /** A type's version: a hash of its resources' names and versions, so equal content has an equal version. */
    private static String setVersion(Map<String, String> versions) {
        StringBuilder sb = new StringBuilder();
        versions.forEach((k, v) -> sb.append(k).append('=').append(v).append(';'));
        return Versions.of(com.google.protobuf.StringValue.of(sb.toString()));
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
