package io.jmesh.discovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ForwardingClientCall;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.Server;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.protobuf.SimpleRequest;
import io.grpc.testing.protobuf.SimpleResponse;
import io.grpc.testing.protobuf.SimpleServiceGrpc;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real gRPC-Java client with gRPC's own xDS client (io.grpc:grpc-xds), bootstrapped at a real
 * discovery server, calls two real gRPC backends (v1, v2) through {@code xds:///} and follows the
 * VirtualService and DestinationRule in a watched directory. Runs in its own JVM: gRPC reads the
 * xDS bootstrap once per JVM.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GrpcXdsClientTest {

    private static final String TARGET = "xds:///greeter.example.com:7070";
    private static final Duration DEADLINE = Duration.ofSeconds(30);

    @TempDir
    static Path dir;

    private static Server v1;
    private static Server v2;
    private static DiscoveryServer discovery;
    private static ManagedChannel channel;

    @BeforeAll
    static void setUp() throws Exception {
        v1 = backend("v1");
        v2 = backend("v2");
        Path config = Files.createDirectories(dir.resolve("config"));
        Files.writeString(config.resolve("greeter.yaml"), """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: greeter, namespace: default}
                spec:
                  hosts: [greeter.example.com]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 7070, name: grpc, protocol: GRPC}]
                  workloadSelector: {labels: {app: greeter}}
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: greeter-v1, namespace: default}
                spec:
                  address: 127.0.0.1
                  ports: {grpc: %d}
                  labels: {app: greeter, version: v1}
                  locality: us-east/zone-a
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: greeter-v2, namespace: default}
                spec:
                  address: 127.0.0.1
                  ports: {grpc: %d}
                  labels: {app: greeter, version: v2}
                  locality: us-east/zone-b
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: greeter, namespace: default}
                spec:
                  host: greeter.example.com
                  subsets:
                  - {name: v1, labels: {version: v1}}
                  - {name: v2, labels: {version: v2}}
                """.formatted(v1.getPort(), v2.getPort()));
        writeAtomically(config.resolve("routes.yaml"), routes(80, 20));
        discovery = DiscoveryServer.start(new DiscoveryOptions(config, new InetSocketAddress("127.0.0.1", 0),
                new InetSocketAddress("127.0.0.1", 0), null, Duration.ofMillis(100)));
        Path bootstrap = dir.resolve("bootstrap.json");
        Files.writeString(bootstrap, """
                {"xds_servers": [{"server_uri": "127.0.0.1:%d", "channel_creds": [{"type": "insecure"}],
                  "server_features": ["xds_v3"]}],
                 "node": {"id": "sidecar~127.0.0.1~client-1.default~default.svc.cluster.local",
                   "metadata": {"GENERATOR": "grpc", "NAMESPACE": "default"}}}
                """.formatted(discovery.grpcAddress().getPort()));
        System.setProperty("io.grpc.xds.bootstrap", bootstrap.toString());
        channel = Grpc.newChannelBuilder(TARGET, InsecureChannelCredentials.create()).build();
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (channel != null) {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        if (discovery != null) {
            discovery.close();
        }
        v1.shutdownNow();
        v2.shutdownNow();
    }

    @Test
    @Order(1)
    void weightedSplitFollowsTheVirtualService() {
        Map<String, Integer> counts = call(1000, null);
        assertEquals(1000, counts.getOrDefault("v1", 0) + counts.getOrDefault("v2", 0), counts.toString());
        // Binomial(1000, 0.8): mean 800, sd 12.6; +-6 sd makes a false failure practically impossible.
        int v1Count = counts.getOrDefault("v1", 0);
        assertTrue(v1Count >= 724 && v1Count <= 876, "v1 got " + v1Count + " of 1000 (expected: ~800)");
    }

    @Test
    @Order(2)
    void headerMatchPicksTheSubset() {
        Map<String, Integer> counts = call(100, "yes");
        assertEquals(Map.of("v2", 100), counts);
    }

    @Test
    @Order(2)
    void aSinglePortServiceResolvesWithoutThePort() throws Exception {
        ManagedChannel noPort = Grpc.newChannelBuilder("xds:///greeter.example.com", InsecureChannelCredentials.create())
                .build();
        try {
            SimpleResponse r = SimpleServiceGrpc.newBlockingStub(noPort).withWaitForReady()
                    .withDeadlineAfter(20, TimeUnit.SECONDS)
                    .unaryRpc(SimpleRequest.newBuilder().setRequestMessage("hi").build());
            assertTrue(r.getResponseMessage().equals("v1") || r.getResponseMessage().equals("v2"), r.toString());
        } finally {
            noPort.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    @Order(3)
    void editingTheYamlShiftsTrafficAndAnInvalidObjectChangesNothing() throws Exception {
        writeAtomically(dir.resolve("config").resolve("routes.yaml"), routes(0, 100));
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        Map<String, Integer> counts;
        do {
            assertTrue(System.nanoTime() < deadline, "traffic did not shift to v2 within " + DEADLINE);
            counts = call(50, null);
        } while (counts.getOrDefault("v2", 0) != 50);

        // An invalid VirtualService for the same host that would sort first and send all to v1.
        writeAtomically(dir.resolve("config").resolve("aaa-bad.yaml"), """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: aaa-greeter, namespace: default}
                spec:
                  hosts: [greeter.example.com]
                  http:
                  - route: [{destination: {host: greeter.example.com, subset: v1}}]
                    timeout: soon
                """);
        HttpClient http = HttpClient.newHttpClient();
        URI configz = URI.create("http://127.0.0.1:" + discovery.monitoringAddress().getPort() + "/debug/configz");
        String body;
        do {
            assertTrue(System.nanoTime() < deadline + DEADLINE.toNanos(), "the invalid object was never reported");
            body = http.send(HttpRequest.newBuilder(configz).build(), HttpResponse.BodyHandlers.ofString()).body();
        } while (!body.contains("VirtualService/default/aaa-greeter"));
        assertTrue(body.contains("spec.http[0].timeout: soon (expected: a duration such as 1s or 500ms)"), body);
        assertTrue(body.contains("aaa-bad.yaml"), body);
        assertEquals(Map.of("v2", 200), call(200, null));

        URI syncz = URI.create("http://127.0.0.1:" + discovery.monitoringAddress().getPort() + "/debug/syncz");
        String sync = http.send(HttpRequest.newBuilder(syncz).build(), HttpResponse.BodyHandlers.ofString()).body();
        assertTrue(sync.contains("\"proxy\" : \"sidecar~127.0.0.1~client-1.default~default.svc.cluster.local\""), sync);
        assertTrue(sync.contains("\"route_state\" : \"SYNCED\""), sync);
        String nodeId = java.net.URLEncoder.encode("sidecar~127.0.0.1~client-1.default~default.svc.cluster.local",
                java.nio.charset.StandardCharsets.UTF_8);
        HttpResponse<String> dump = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + discovery.monitoringAddress().getPort() + "/debug/config_dump?proxyID=" + nodeId)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, dump.statusCode());
        assertTrue(dump.body().contains("\"name\" : \"greeter.example.com:7070\""), dump.body());
        // Weight 0 destinations are dropped, as Istio does: all traffic goes to one cluster.
        assertTrue(dump.body().contains("\"cluster\" : \"outbound|7070|v2|greeter.example.com\""), dump.body());
        assertEquals(404, http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + discovery.monitoringAddress().getPort() + "/debug/config_dump?proxyID=nobody")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode());
        // the Kubernetes readiness probe of the istiod Deployment (jmesh manifest generate)
        HttpResponse<String> ready = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + discovery.monitoringAddress().getPort() + "/ready")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, ready.statusCode());
        assertEquals("ready\n", ready.body());
        URI metrics = URI.create("http://127.0.0.1:" + discovery.monitoringAddress().getPort() + "/metrics");
        String prom = http.send(HttpRequest.newBuilder(metrics).build(), HttpResponse.BodyHandlers.ofString()).body();
        assertTrue(prom.contains("pilot_xds 1\n"), prom);
        assertTrue(prom.contains("pilot_total_rejected_configs 1\n"), prom);
        assertTrue(prom.matches("(?s).*pilot_xds_pushes\\{type=\"rds\"\\} [1-9].*"), prom);
    }

    @Test
    @Order(4)
    void theClientKeepsItsLastConfigWhileDiscoveryIsDownAndFollowsItWhenBack() throws Exception {
        InetSocketAddress grpcAddress = discovery.grpcAddress();
        discovery.close();
        discovery = null;
        assertEquals(Map.of("v2", 100), call(100, null));

        writeAtomically(dir.resolve("config").resolve("routes.yaml"), routes(100, 0));
        discovery = DiscoveryServer.start(new DiscoveryOptions(dir.resolve("config"), grpcAddress,
                new InetSocketAddress("127.0.0.1", 0), null, Duration.ofMillis(100)));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120); // gRPC's xDS reconnect back-off
        Map<String, Integer> counts;
        do {
            assertTrue(System.nanoTime() < deadline, "the client did not follow the restarted discovery");
            counts = call(20, null);
        } while (counts.getOrDefault("v1", 0) != 20);
    }

    private static String routes(int w1, int w2) {
        return """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: greeter, namespace: default}
                spec:
                  hosts: [greeter.example.com]
                  http:
                  - match: [{headers: {x-canary: {exact: "yes"}}}]
                    route: [{destination: {host: greeter.example.com, subset: v2}}]
                  - route:
                    - {destination: {host: greeter.example.com, subset: v1}, weight: %d}
                    - {destination: {host: greeter.example.com, subset: v2}, weight: %d}
                """.formatted(w1, w2);
    }

    private static void writeAtomically(Path file, String content) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.writeString(tmp, content);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static Map<String, Integer> call(int n, String canary) {
        Channel ch = channel;
        if (canary != null) {
            io.grpc.Metadata headers = new io.grpc.Metadata();
            headers.put(io.grpc.Metadata.Key.of("x-canary", io.grpc.Metadata.ASCII_STRING_MARSHALLER), canary);
            ch = ClientInterceptors.intercept(channel, new ClientInterceptor() {
                @Override
                public <Q, S> ClientCall<Q, S> interceptCall(MethodDescriptor<Q, S> method, CallOptions options,
                                                             Channel next) {
                    return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
                        @Override
                        public void start(Listener<S> listener, io.grpc.Metadata md) {
                            md.merge(headers);
                            super.start(listener, md);
                        }
                    };
                }
            });
        }
        SimpleServiceGrpc.SimpleServiceBlockingStub stub = SimpleServiceGrpc.newBlockingStub(ch);
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < n; i++) {
            SimpleResponse r = stub.withWaitForReady().withDeadlineAfter(20, TimeUnit.SECONDS)
                    .unaryRpc(SimpleRequest.newBuilder().setRequestMessage("hi").build());
            counts.merge(r.getResponseMessage(), 1, Integer::sum);
        }
        return counts;
    }

    private static Server backend(String version) throws IOException {
        return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), InsecureServerCredentials.create())
                .addService(new SimpleServiceGrpc.SimpleServiceImplBase() {
                    @Override
                    public void unaryRpc(SimpleRequest request, StreamObserver<SimpleResponse> out) {
                        out.onNext(SimpleResponse.newBuilder().setResponseMessage(version).build());
                        out.onCompleted();
                    }
                })
                .build()
                .start();
    }
}
