package io.jmesh.discovery.registry.kubernetes;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Channel;
import io.grpc.stub.StreamObserver;
import io.jmesh.discovery.xds.TypeUrls;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A sidecar's ADS stream (state of the world) as a test sees it: subscribes to types, ACKs every response
 * so that discovery keeps pushing, and keeps the latest response of each type.
 */
final class AdsClient implements StreamObserver<DiscoveryResponse>, AutoCloseable {

    private final Map<String, DiscoveryResponse> latest = new ConcurrentHashMap<>();
    private final Map<String, List<String>> names = new ConcurrentHashMap<>();
    private final Node node;
    private final StreamObserver<DiscoveryRequest> requests;
    volatile Throwable error;
    private boolean closed;

    private AdsClient(Channel channel, String namespace, String podName) {
        this.node = Node.newBuilder()
                .setId("sidecar~10.1.0.99~" + podName + "." + namespace + "~" + namespace + ".svc.cluster.local")
                .setMetadata(Struct.newBuilder().putFields("NAMESPACE", Value.newBuilder().setStringValue(namespace)
                        .build()))
                .build();
        this.requests = AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(this);
    }

    /** Opens a stream as a sidecar of a pod {@code podName} in {@code namespace}. */
    static AdsClient connect(Channel channel, String namespace, String podName) {
        return new AdsClient(channel, namespace, podName);
    }

    synchronized void subscribe(String typeUrl, String... resourceNames) {
        names.put(typeUrl, List.of(resourceNames));
        requests.onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(typeUrl)
                .addAllResourceNames(List.of(resourceNames)).build());
    }

    /** Returns the names of the clusters last pushed (empty before the first CDS response). */
    TreeSet<String> clusters() {
        TreeSet<String> out = new TreeSet<>();
        DiscoveryResponse r = latest.get(TypeUrls.CLUSTER);
        if (r != null) {
            r.getResourcesList().forEach(a -> out.add(unpack(a, Cluster.class).getName()));
        }
        return out;
    }

    /** Returns {@code address:port} of every endpoint last pushed for {@code cluster}. */
    TreeSet<String> endpoints(String cluster) {
        TreeSet<String> out = new TreeSet<>();
        ClusterLoadAssignment cla = assignment(cluster);
        if (cla != null) {
            for (LocalityLbEndpoints l : cla.getEndpointsList()) {
                for (LbEndpoint e : l.getLbEndpointsList()) {
                    var a = e.getEndpoint().getAddress().getSocketAddress();
                    out.add(a.getAddress() + ":" + a.getPortValue());
                }
            }
        }
        return out;
    }

    /** Returns the assignment last pushed for {@code cluster}, or null. */
    ClusterLoadAssignment assignment(String cluster) {
        DiscoveryResponse r = latest.get(TypeUrls.ENDPOINT);
        if (r == null) {
            return null;
        }
        for (var a : r.getResourcesList()) {
            ClusterLoadAssignment cla = unpack(a, ClusterLoadAssignment.class);
            if (cla.getClusterName().equals(cluster)) {
                return cla;
            }
        }
        return null;
    }

    /** Returns the response last pushed for {@code typeUrl}, or null. */
    DiscoveryResponse latest(String typeUrl) {
        return latest.get(typeUrl);
    }

    @Override
    public synchronized void onNext(DiscoveryResponse r) {
        latest.put(r.getTypeUrl(), r);
        if (closed) {
            return;
        }
        requests.onNext(DiscoveryRequest.newBuilder().setTypeUrl(r.getTypeUrl()).setVersionInfo(r.getVersionInfo())
                .setResponseNonce(r.getNonce()).addAllResourceNames(names.getOrDefault(r.getTypeUrl(), List.of()))
                .build());
    }

    @Override
    public void onError(Throwable t) {
        error = t;
    }

    @Override
    public void onCompleted() {}

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            requests.onCompleted();
        }
    }

    private static <T extends com.google.protobuf.Message> T unpack(com.google.protobuf.Any any, Class<T> type) {
        try {
            return any.unpack(type);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
    }

    static List<String> sorted(TreeSet<String> s) {
        return new ArrayList<>(s);
    }
}
