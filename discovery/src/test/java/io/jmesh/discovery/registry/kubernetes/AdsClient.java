package io.jmesh.discovery.registry.kubernetes;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.grpc.ManagedChannel;
import io.jmesh.discovery.xds.TypeUrls;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * A sidecar's ADS stream (state of the world) as a test sees it: the proxy's own
 * {@link io.jmesh.proxy.xds.AdsClient}, which subscribes, ACKs every response so that discovery keeps pushing,
 * and here keeps the latest resources of each type.
 */
final class AdsClient implements AutoCloseable {

    private final Map<String, List<Any>> latest = new ConcurrentHashMap<>();
    private final ScheduledExecutorService xdsThread = Executors.newSingleThreadScheduledExecutor();
    private final io.jmesh.proxy.xds.AdsClient client;
    private boolean closed;

    private AdsClient(ManagedChannel channel, String namespace, String podName) {
        Node node = Node.newBuilder()
                .setId("sidecar~10.1.0.99~" + podName + "." + namespace + "~" + namespace + ".svc.cluster.local")
                .setMetadata(Struct.newBuilder().putFields("NAMESPACE", Value.newBuilder().setStringValue(namespace)
                        .build()))
                .build();
        this.client = new io.jmesh.proxy.xds.AdsClient(channel, io.jmesh.proxy.xds.AdsClient.ADS, node,
                (typeUrl, version, resources) -> latest.put(typeUrl, List.copyOf(resources)), xdsThread);
        client.start();
    }

    /** Opens a stream on {@code channel} (which {@link #close()} shuts down) as a sidecar of a pod {@code podName}. */
    static AdsClient connect(ManagedChannel channel, String namespace, String podName) {
        return new AdsClient(channel, namespace, podName);
    }

    void subscribe(String typeUrl, String... resourceNames) {
        xdsThread.execute(() -> client.subscribe(typeUrl, Set.of(resourceNames)));
    }

    /** Returns the names of the clusters last pushed (empty before the first CDS response). */
    TreeSet<String> clusters() {
        TreeSet<String> out = new TreeSet<>();
        latest.getOrDefault(TypeUrls.CLUSTER, List.of()).forEach(a -> out.add(unpack(a, Cluster.class).getName()));
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
        for (Any a : latest.getOrDefault(TypeUrls.ENDPOINT, List.of())) {
            ClusterLoadAssignment cla = unpack(a, ClusterLoadAssignment.class);
            if (cla.getClusterName().equals(cluster)) {
                return cla;
            }
        }
        return null;
    }

    /** Returns the resources last pushed for {@code typeUrl}, or null before its first response. */
    List<Any> latest(String typeUrl) {
        return latest.get(typeUrl);
    }

    /** Ends the stream and shuts the channel down; again does nothing. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            client.close();
            xdsThread.shutdown();
        }
    }

    private static <T extends com.google.protobuf.Message> T unpack(Any any, Class<T> type) {
        try {
            return any.unpack(type);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
    }
}
