package io.jmesh.proxy.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.google.protobuf.Any;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.jmesh.proxy.config.ConfigException;

/**
 * {@link AdsClient} against a scripted ADS server over a real gRPC socket: the node on requests, ACK with the
 * response's version and nonce, NACK with the last accepted version and the reason, re-subscription with the last
 * accepted version after the stream breaks.
 */
class AdsClientTest {

    private static final String CDS = DynamicConfigManager.CLUSTER_TYPE;

    private final BlockingQueue<DiscoveryRequest> requests = new LinkedBlockingQueue<>();
    private final BlockingQueue<StreamObserver<DiscoveryResponse>> streams = new LinkedBlockingQueue<>();
    private final BlockingQueue<List<String>> applied = new LinkedBlockingQueue<>();
    private final ScheduledThreadPoolExecutor xds = new ScheduledThreadPoolExecutor(1);
    private Server server;
    private AdsClient client;

    @BeforeEach
    void start() throws Exception {
        server = ServerBuilder.forPort(0).addService(new AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceImplBase() {
            @Override
            public StreamObserver<DiscoveryRequest> streamAggregatedResources(StreamObserver<DiscoveryResponse> out) {
                streams.add(out);
                return new StreamObserver<>() {
                    @Override
                    public void onNext(DiscoveryRequest r) {
                        requests.add(r);
                    }

                    @Override
                    public void onError(Throwable t) {}

                    @Override
                    public void onCompleted() {}
                };
            }
        }).build().start();
        Node node = Node.newBuilder().setId("sidecar~10.0.0.1~a.default~default.svc.cluster.local").setCluster("a.default").build();
        client = new AdsClient("127.0.0.1:" + server.getPort(), node, (type, version, resources) -> {
            List<String> names = resources.stream().map(a -> {
                try {
                    return a.unpack(Cluster.class).getName();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }).toList();
            if (names.contains("bad")) {
                throw new ConfigException("resources[0].name: bad (expected: a good cluster)");
            }
            applied.add(names);
        }, xds);
        xds.execute(() -> client.subscribe(CDS, Set.of()));
        client.start();
    }

    @AfterEach
    void stop() throws Exception {
        client.close();
        xds.shutdown();
        xds.awaitTermination(5, TimeUnit.SECONDS);
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    @Test
    void closeEndsTheChannelBeforeTheXdsExecutorIsShutDown() throws Exception {
        next();
        client.close();
        assertTrue(client.awaitClosed(10, TimeUnit.SECONDS),
                "close ran on the xDS thread and the channel terminated, so no callback comes after the executor stops");
        assertTrue(xds.submit(() -> true).get(10, TimeUnit.SECONDS), "the xDS executor was not shut down by close");
    }

    private DiscoveryRequest next() throws InterruptedException {
        DiscoveryRequest r = requests.poll(20, TimeUnit.SECONDS);
        if (r == null) {
            throw new AssertionError("no request from the client");
        }
        return r;
    }

    private static DiscoveryResponse response(String version, String nonce, String... clusters) {
        DiscoveryResponse.Builder b = DiscoveryResponse.newBuilder().setTypeUrl(CDS).setVersionInfo(version).setNonce(nonce);
        for (String c : clusters) {
            b.addResources(Any.pack(Cluster.newBuilder().setName(c).build()));
        }
        return b.build();
    }

    @Test
    void acksNacksAndResubscribesAfterAReconnect() throws Exception {
        StreamObserver<DiscoveryResponse> out = streams.poll(20, TimeUnit.SECONDS);
        DiscoveryRequest first = next();
        assertEquals(CDS, first.getTypeUrl());
        assertEquals("sidecar~10.0.0.1~a.default~default.svc.cluster.local", first.getNode().getId());
        assertEquals("", first.getVersionInfo());
        assertEquals("", first.getResponseNonce());

        out.onNext(response("v1", "n1", "a", "b"));
        DiscoveryRequest ack = next();
        assertEquals(List.of("a", "b"), applied.poll(10, TimeUnit.SECONDS));
        assertEquals("v1", ack.getVersionInfo());
        assertEquals("n1", ack.getResponseNonce());
        assertFalse(ack.hasErrorDetail());

        out.onNext(response("v2", "n2", "bad"));
        DiscoveryRequest nack = next();
        assertEquals("v1", nack.getVersionInfo(), "a NACK carries the last accepted version");
        assertEquals("n2", nack.getResponseNonce());
        assertTrue(nack.hasErrorDetail());
        assertEquals("resources[0].name: bad (expected: a good cluster)", nack.getErrorDetail().getMessage());

        out.onError(Status.UNAVAILABLE.withDescription("restarting").asRuntimeException());
        StreamObserver<DiscoveryResponse> again = streams.poll(20, TimeUnit.SECONDS);
        assertTrue(again != null, "the client reconnected");
        DiscoveryRequest resubscribe = next();
        assertEquals(CDS, resubscribe.getTypeUrl());
        assertEquals("v1", resubscribe.getVersionInfo());
        assertEquals("", resubscribe.getResponseNonce());
        assertTrue(resubscribe.hasNode());
        again.onNext(response("v3", "n3", "c"));
        assertEquals(List.of("c"), applied.poll(10, TimeUnit.SECONDS));
        assertEquals("v3", next().getVersionInfo());
    }
}
