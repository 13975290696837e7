package io.jmesh.discovery.server;

import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A real discovery server for tests: config from a directory, xDS and monitoring on port 0 of
 * 127.0.0.1, 20 ms debounce, and a plaintext gRPC channel to it.
 */
final class TestDiscovery implements AutoCloseable {

    final Path dir;
    final DiscoveryServer server;
    final ManagedChannel channel;

    private TestDiscovery(Path dir, DiscoveryServer server) {
        this.dir = dir;
        this.server = server;
        this.channel = NettyChannelBuilder.forAddress("127.0.0.1", server.grpcAddress().getPort()).usePlaintext().build();
    }

    /** Writes {@code file} with {@code content} into {@code dir}, then starts discovery on it. */
    static TestDiscovery start(Path dir, String file, String content) throws Exception {
        write(dir, file, content);
        return new TestDiscovery(dir, DiscoveryServer.start(new DiscoveryOptions(dir,
                new InetSocketAddress("127.0.0.1", 0), new InetSocketAddress("127.0.0.1", 0), null,
                Duration.ofMillis(20))));
    }

    /**
     * Returns the YAML of a MESH_INTERNAL, STATIC ServiceEntry for {@code <name>.default.svc.cluster.local}
     * with one HTTP port 9080 and {@code endpoints}, one flow-style endpoint a line, followed by {@code ---}.
     */
    static String serviceEntry(String name, String... endpoints) {
        StringBuilder yaml = new StringBuilder("""
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: %1$s, namespace: default}
                spec:
                  hosts: [%1$s.default.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 9080, name: http, protocol: HTTP}]
                  endpoints:
                """.formatted(name));
        for (String e : endpoints) {
            yaml.append("  - ").append(e).append('\n');
        }
        return yaml.append("---\n").toString();
    }

    /** Replaces {@code name} in the config directory atomically, as a config management tool would. */
    void write(String name, String content) throws Exception {
        write(dir, name, content);
    }

    XdsClientStream<DiscoveryRequest, DiscoveryResponse> sotw() {
        return XdsClientStream.sotw(channel);
    }

    XdsClientStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> delta() {
        return XdsClientStream.delta(channel);
    }

    private static void write(Path dir, String name, String content) throws Exception {
        Path tmp = dir.resolve("." + name + ".tmp");
        Files.writeString(tmp, content);
        Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    @Override
    public void close() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        server.close();
    }
}
