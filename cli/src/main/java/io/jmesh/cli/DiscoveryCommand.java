package io.jmesh.cli;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jmesh discovery --config-dir DIR}: the control plane. Reads and watches Istio YAML in {@code DIR} and
 * serves xDS over ADS on {@code --grpc-addr}, debug pages and metrics on {@code --monitoring-addr}. Exit code 1
 * with the reason when the directory, an address or the mesh config is unusable; SIGTERM stops it and exits 0.
 */
@Command(name = "discovery", mixinStandardHelpOptions = true,
        description = "Run the control plane: Istio YAML from a directory in, Envoy xDS over ADS out.")
final class DiscoveryCommand implements Callable<Integer> {

    @Option(names = "--config-dir", required = true, paramLabel = "DIR",
            description = "Directory of Istio YAML files (read recursively and watched).")
    Path configDir;

    @Option(names = "--grpc-addr", defaultValue = "127.0.0.1:15010", paramLabel = "HOST:PORT",
            description = "ADS (plaintext gRPC) address (default: ${DEFAULT-VALUE}; port 0 = any free port).")
    String grpcAddress;

    @Option(names = "--monitoring-addr", defaultValue = "127.0.0.1:15014", paramLabel = "HOST:PORT",
            description = "/metrics and /debug/* address (default: ${DEFAULT-VALUE}).")
    String monitoringAddress;

    @Option(names = "--mesh-config", paramLabel = "FILE", description = "MeshConfig YAML file.")
    Path meshConfig;

    @Option(names = "--credentials-dir", paramLabel = "DIR",
            description = "TLS credentials for credentialName in Gateways and DestinationRules: "
                    + "DIR/<namespace>/<name>/{tls.crt,tls.key,ca.crt}, served to proxies of that namespace over SDS.")
    Path credentialsDir;

    @Option(names = "--registry", paramLabel = "URI",
            description = "Also discover services from a registry: zookeeper://HOST:PORT (Dubbo and SOFARPC providers) "
                    + "or nacos://HOST:PORT. Repeatable.")
    java.util.List<String> registries = new java.util.ArrayList<>();

    @Option(names = "--duration", defaultValue = "0", paramLabel = "SECONDS", hidden = true,
            description = "Stop by itself after this many seconds (tests).")
    long durationSeconds;

    @Override
    public Integer call() throws Exception {
        InetSocketAddress grpc;
        InetSocketAddress monitoring;
        try {
            grpc = parse("--grpc-addr", grpcAddress);
            monitoring = parse("--monitoring-addr", monitoringAddress);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            return 2;
        }
        java.util.List<io.jmesh.discovery.registry.ServiceRegistry> extra = new java.util.ArrayList<>();
        DiscoveryServer server;
        try {
            for (String uri : registries) {
                extra.add(io.jmesh.discovery.registry.Registries.fromUri(uri));
            }
            server = DiscoveryServer.start(new DiscoveryOptions(configDir, grpc, monitoring, meshConfig,
                    DiscoveryOptions.DEFAULT_DEBOUNCE, credentialsDir), extra);
        } catch (Exception e) {
            for (io.jmesh.discovery.registry.ServiceRegistry r : extra) {
                try {
                    r.close();
                } catch (Exception ignored) {
                    // best effort on the way out
                }
            }
            System.err.println("error: " + e.getMessage());
            return 1;
        }
        try (server) {
            System.err.println("jmesh discovery: xDS on " + hostPort(server.grpcAddress()) + ", monitoring on "
                    + hostPort(server.monitoringAddress()) + ", config from " + configDir);
            CountDownLatch stop = new CountDownLatch(1);
            Signals.onTerm(stop::countDown);
            if (durationSeconds > 0) {
                stop.await(durationSeconds, java.util.concurrent.TimeUnit.SECONDS);
            } else {
                stop.await();
            }
        }
        return 0;
    }

    static String hostPort(InetSocketAddress a) {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    static InetSocketAddress parse(String option, String value) {
        int colon = value.lastIndexOf(':');
        try {
            int port = Integer.parseInt(value.substring(colon + 1));
            if (colon > 0 && port >= 0 && port <= 65535) {
                return new InetSocketAddress(value.substring(0, colon).replace("[", "").replace("]", ""), port);
            }
        } catch (NumberFormatException | StringIndexOutOfBoundsException ignored) {
            // reported below
        }
        throw new IllegalArgumentException(option + ": " + value + " (expected: HOST:PORT)");
    }
}
