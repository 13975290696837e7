package io.jmesh.benchmarks.discovery;

import io.jmesh.discovery.config.ConfigError;
import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.discovery.config.ConfigSnapshot;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.discovery.registry.file.FileServiceRegistry;
import io.jmesh.discovery.config.Config;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Writes Istio YAML for a synthetic mesh of {@code services} HTTP services into a directory, the
 * input of {@link PilotLoad} and {@link SidecarGenerationBenchmark}.
 *
 * <p>Service {@code i} is {@code svc-<i>.ns-<i % namespaces>.svc.cluster.local}, port 9080 (HTTP), a
 * {@code STATIC} ServiceEntry with {@link #endpointsPerService} inline endpoints labelled
 * {@code app: svc-<i>} and {@code version: v1|v2}. Every {@link #virtualServiceEvery}-th service
 * also has a DestinationRule with subsets {@code v1} and {@code v2} and a VirtualService splitting
 * traffic between them, each VirtualService in its own file {@code virtualservice-svc-<i>.yaml} so
 * that {@link #writeVirtualService} rewrites one small file, as a user edit would.
 *
 * <p>Endpoint {@code e} (counting over all services) has address {@code 10.x.y.z} = 10.0.0.0 +
 * e + 1; {@link PilotLoad} gives sidecar {@code k} the address of endpoint {@code k}, so each
 * simulated sidecar is a workload of one service and gets inbound config too. Immutable.
 *
 * @param services              number of services (>= 1)
 * @param namespaces            number of namespaces they are spread over (>= 1)
 * @param endpointsPerService   inline endpoints per ServiceEntry (>= 1)
 * @param virtualServiceEvery   one VirtualService and DestinationRule per this many services (>= 1)
 */
public record MeshConfigGenerator(int services, int namespaces, int endpointsPerService, int virtualServiceEvery) {

    /** The service port of every generated service. */
    public static final int PORT = 9080;

    public MeshConfigGenerator {
        check("services", services);
        check("namespaces", namespaces);
        check("endpointsPerService", endpointsPerService);
        check("virtualServiceEvery", virtualServiceEvery);
    }

    /** {@code services} services over 10 namespaces (fewer if fewer services), 3 endpoints each, a VirtualService for every 5th. */
    public static MeshConfigGenerator of(int services) {
        return new MeshConfigGenerator(services, Math.min(10, Math.max(1, services)), 3, 5);
    }

    private static void check(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + ": " + value + " (expected: >= 1)");
        }
    }

    /** Returns the namespace of service {@code i}. */
    public String namespace(int i) {
        return "ns-" + (i % namespaces);
    }

    /** Returns the FQDN of service {@code i}. */
    public String host(int i) {
        return "svc-" + i + '.' + namespace(i) + ".svc.cluster.local";
    }

    /** Returns the total number of endpoints, i.e. of distinct workload addresses. */
    public int endpoints() {
        return services * endpointsPerService;
    }

    /** Returns the address of endpoint {@code e} (0-based over all services). */
    public static String address(int e) {
        int v = e + 1;
        return "10." + ((v >>> 16) & 0xff) + '.' + ((v >>> 8) & 0xff) + '.' + (v & 0xff);
    }

    /** Returns the service index of endpoint {@code e}. */
    public int serviceOfEndpoint(int e) {
        return (e / endpointsPerService) % services;
    }

    /** Returns the {@code version} label of endpoint {@code e}. */
    public String versionOfEndpoint(int e) {
        return (e % endpointsPerService) % 2 == 0 ? "v1" : "v2";
    }

    /** Returns whether service {@code i} has a VirtualService and DestinationRule. */
    public boolean hasVirtualService(int i) {
        return i % virtualServiceEvery == 0;
    }

    /**
     * Writes {@code services.yaml}, {@code destinationrules.yaml} and one {@code virtualservice-svc-<i>.yaml}
     * per routed service into {@code dir} (created if missing), VirtualServices with a 90/10 split.
     */
    public void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        StringBuilder se = new StringBuilder(services * 512);
        StringBuilder dr = new StringBuilder();
        for (int i = 0; i < services; i++) {
            String ns = namespace(i);
            se.append("apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: svc-").append(i)
                    .append(", namespace: ").append(ns).append("}\nspec:\n  hosts: [").append(host(i))
                    .append("]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: [{number: ").append(PORT)
                    .append(", name: http, protocol: HTTP}]\n  endpoints:\n");
            for (int j = 0; j < endpointsPerService; j++) {
                int e = i * endpointsPerService + j;
                se.append("  - {address: ").append(address(e)).append(", labels: {app: svc-").append(i)
                        .append(", version: ").append(versionOfEndpoint(e)).append("}, locality: us-east/zone-")
                        .append(j % 2).append("}\n");
            }
            se.append("---\n");
            if (hasVirtualService(i)) {
                dr.append("apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: svc-").append(i)
                        .append(", namespace: ").append(ns).append("}\nspec:\n  host: ").append(host(i))
                        .append("\n  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}\n  subsets:\n")
                        .append("  - {name: v1, labels: {version: v1}}\n  - {name: v2, labels: {version: v2}}\n---\n");
                writeVirtualService(dir, i, 90);
            }
        }
        writeAtomically(dir.resolve("services.yaml"), se.toString());
        writeAtomically(dir.resolve("destinationrules.yaml"), dr.toString());
    }

    /**
     * (Re)writes service {@code i}'s VirtualService with weight {@code weightV1} to subset v1 and the
     * rest to v2, atomically (a hidden temporary file renamed over the old one).
     */
    public void writeVirtualService(Path dir, int i, int weightV1) throws IOException {
        if (!hasVirtualService(i)) {
            throw new IllegalArgumentException("i: " + i + " (expected: a multiple of " + virtualServiceEvery + ")");
        }
        if (weightV1 < 0 || weightV1 > 100) {
            throw new IllegalArgumentException("weightV1: " + weightV1 + " (expected: 0..100)");
        }
        String yaml = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: svc-" + i
                + ", namespace: " + namespace(i) + "}\nspec:\n  hosts: [" + host(i) + "]\n  http:\n"
                + "  - route:\n    - {destination: {host: " + host(i) + ", subset: v1}, weight: " + weightV1 + "}\n"
                + "    - {destination: {host: " + host(i) + ", subset: v2}, weight: " + (100 - weightV1) + "}\n"
                + "    timeout: 5s\n    retries: {attempts: 2, perTryTimeout: 1s, retryOn: \"5xx,connect-failure\"}\n";
        writeAtomically(dir.resolve("virtualservice-svc-" + i + ".yaml"), yaml);
    }

    private static void writeAtomically(Path file, String content) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.writeString(tmp, content, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * Reads every YAML file of {@code dir} into a model snapshot as discovery would (without watching).
     *
     * @throws IllegalStateException if any object is rejected
     */
    public static MeshSnapshot load(Path dir) {
        List<Config<?>> configs = new ArrayList<>();
        List<ConfigError> errors = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".yaml")).sorted().toList()) {
                ConfigParser.Result r = ConfigParser.parse(f);
                configs.addAll(r.configs());
                errors.addAll(r.errors());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (!errors.isEmpty()) {
            throw new IllegalStateException("generated config rejected: " + errors);
        }
        ConfigSnapshot config = new ConfigSnapshot(configs, errors, MeshConfig.DEFAULT);
        FileServiceRegistry registry = new FileServiceRegistry();
        registry.update(config);
        return new MeshSnapshot(1, config, registry.services(), registry.endpoints());
    }
}
