package io.jmesh.discovery.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.discovery.xds.TypeUrls;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client that does not read: discovery stops pushing to it when gRPC's flow control says the
 * stream is not ready, instead of buffering every response, and resumes when the client reads.
 */
class FlowControlTest {

    private static final int SERVICES = 5000;

    @TempDir
    Path dir;

    @Test
    void pushStopsWhileClientDoesNotReadAndResumesWhenItDoes() throws Exception {
        StringBuilder yaml = new StringBuilder();
        List<String> clusters = new ArrayList<>();
        for (int i = 0; i < SERVICES; i++) {
            String host = "service-with-a-rather-long-name-" + i + ".default.svc.cluster.local";
            clusters.add("outbound|9080||" + host);
            yaml.append("apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: s").append(i)
                    .append(", namespace: default}\nspec:\n  hosts: [").append(host)
                    .append("]\n  location: MESH_INTERNAL\n  resolution: STATIC\n")
                    .append("  ports: [{number: 9080, name: http, protocol: HTTP}]\n")
                    .append("  endpoints: [{address: 10.1.").append(i / 250).append('.').append(i % 250)
                    .append(", locality: us-west/a}]\n---\n");
        }
        Files.writeString(dir.resolve("services.yaml"), yaml);
        try (DiscoveryServer discovery = DiscoveryServer.start(new DiscoveryOptions(dir,
                new InetSocketAddress("127.0.0.1", 0), new InetSocketAddress("127.0.0.1", 0), null,
                Duration.ofMillis(20)))) {
            // A fixed 64 KiB window: gRPC's default BDP auto-tuning could grow the window past the whole
            // config and let the server write everything before the client reads (a flaky test).
            ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", discovery.grpcAddress().getPort())
                    .usePlaintext().flowControlWindow(64 * 1024).build();
            try {
                await(() -> discovery.snapshot().services().size() == SERVICES);
                Set<String> received = ConcurrentHashMap.newKeySet();
                ClientCallStreamObserver<DiscoveryRequest>[] call = new ClientCallStreamObserver[1];
                StreamObserver<DiscoveryRequest> requests = AggregatedDiscoveryServiceGrpc.newStub(channel)
                        .streamAggregatedResources(new ClientResponseObserver<DiscoveryRequest, DiscoveryResponse>() {
                            @Override
                            public void beforeStart(ClientCallStreamObserver<DiscoveryRequest> requestStream) {
                                call[0] = requestStream;
                                requestStream.disableAutoRequestWithInitial(1);
                            }

                            @Override
                            public void onNext(DiscoveryResponse r) {
                                received.add(r.getTypeUrl());
                            }

                            @Override
                            public void onError(Throwable t) {}

                            @Override
                            public void onCompleted() {}
                        });
                Node node = Node.newBuilder().setId("sidecar~10.9.0.1~app-1.default~default.svc.cluster.local").build();
                requests.onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(TypeUrls.CLUSTER).build());
                requests.onNext(DiscoveryRequest.newBuilder().setTypeUrl(TypeUrls.ENDPOINT)
                        .addAllResourceNames(clusters).build());
                requests.onNext(DiscoveryRequest.newBuilder().setTypeUrl(TypeUrls.LISTENER).build());
                requests.onNext(DiscoveryRequest.newBuilder().setTypeUrl(TypeUrls.ROUTE).addResourceNames("9080").build());

                AdsService ads = discovery.ads();
                await(() -> ads.statuses().size() == 1 && ads.statuses().get(0).types().size() == 4
                        && ads.waitingForReady() == 1 && ads.queued() == 0);
                ProxyStatus status = ads.statuses().get(0);
                assertNull(status.types().get(TypeUrls.shortName(TypeUrls.ROUTE)).sentVersion(),
                        "RDS was pushed to a client that reads nothing: " + status);
                await(() -> !received.isEmpty()); // the one message the client asked for
                assertEquals(Set.of(TypeUrls.CLUSTER), received);

                call[0].request(100);
                await(() -> received.size() == 4);
                await(() -> ads.waitingForReady() == 0);
                for (ProxyStatus.TypeStatus t : ads.statuses().get(0).types().values()) {
                    assertTrue(t.sentVersion() != null, t.toString());
                }
                requests.onCompleted();
            } finally {
                channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            }
        }
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "condition not met within 60 s");
            Thread.sleep(10);
        }
    }
}
