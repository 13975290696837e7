package io.jmesh.it.rpc;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;

import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingServer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import io.jmesh.discovery.CaOptions;
import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.discovery.registry.Registries;
import io.jmesh.discovery.xds.TypeUrls;
import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.telemetry.tracing.OtlpReceiver;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.xds.AdsBootstrap;
import io.jmesh.proxy.xds.ListenerBinding;
import io.jmesh.security.agent.AgentOptions;
import io.jmesh.security.agent.AgentScheduler;
import io.jmesh.security.agent.IstioCaClient;
import io.jmesh.security.agent.NodeAgent;
import io.jmesh.security.ca.CaRoots;

/**
 * A mesh on one machine for RPC apps: a real ZooKeeper on {@code 127.0.0.1}, {@code jmesh discovery} reading it
 * ({@code --registry zookeeper://...}) and a config directory, and sidecars following discovery over ADS in local
 * mode (docs/rpc.md, "Join the mesh"): a provider's sidecar binds its inbound ports on the workload's own loopback
 * IP; a consumer's sidecar binds the outbound Dubbo (20880) and Bolt (12200) listeners on free ports of
 * {@code 127.0.0.1}. Closes everything it started, last started first.
 */
final class RpcMesh implements AutoCloseable {

    /** Dubbo's and Bolt's service ports as the ZooKeeper registry maps them (RpcServiceMapper). */
    static final int DUBBO_PORT = 20880;
    static final int BOLT_PORT = 12200;

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private final TestingServer zk;
    private final DiscoveryServer discovery;
    private final List<Runnable> closeables = new ArrayList<>();

    /** With mutual TLS: where the CA keeps its root, the tokens and the agents' sockets; else null. */
    private final Path security;
    /** Discovery's config directory. */
    private final Path configDir;

    private RpcMesh(TestingServer zk, DiscoveryServer discovery, Path security, Path configDir) {
        this.configDir = configDir;
        this.zk = zk;
        this.discovery = discovery;
        this.security = security;
    }

    /** Starts ZooKeeper and discovery with {@code istioYaml} (may be empty) as its only config file. */
    static RpcMesh start(Path configDir, String istioYaml) throws Exception {
        return start(configDir, istioYaml, List.of());
    }

    /**
     * As above; when {@code identities} is not empty discovery also runs the CA, with a bearer token for each of
     * those service accounts (namespace {@code default}), and each sidecar started later runs a node agent for
     * the service account of its name, its certificates over SDS (mutual TLS as Istio's sidecars).
     */
    static RpcMesh start(Path configDir, String istioYaml, List<String> identities) throws Exception {
        // Without node agents the sidecars have no certificates: plaintext between them, as a mesh-wide
        // PeerAuthentication DISABLE says (Istio's default PERMISSIVE would wait for certificates).
        Files.writeString(configDir.resolve("mesh.yaml"), (identities.isEmpty() ? """
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: istio-system}
                spec: {mtls: {mode: DISABLE}}
                ---
                """ : "") + istioYaml, UTF_8);
        Path security = null;
        DiscoveryOptions options = new DiscoveryOptions(configDir, new InetSocketAddress("127.0.0.1", 0),
                new InetSocketAddress("127.0.0.1", 0), null, DiscoveryOptions.DEFAULT_DEBOUNCE);
        if (!identities.isEmpty()) {
            security = Files.createTempDirectory("jmesh-rpc-mesh-ca-");
            StringBuilder tokens = new StringBuilder("tokens:\n");
            for (String sa : identities) {
                String token = "token-of-" + sa + "-" + Long.toHexString(System.nanoTime());
                tokens.append("- {token: ").append(token).append(", namespace: default, serviceAccount: ")
                        .append(sa).append("}\n");
                Files.writeString(security.resolve(sa + ".token"), token);
            }
            Files.writeString(security.resolve("tokens.yaml"), tokens);
            options = options.withCa(CaOptions.of(new InetSocketAddress("127.0.0.1", 0),
                    Files.createDirectories(security.resolve("ca")), security.resolve("tokens.yaml")));
        }
        final TestingServer zk = new TestingServer(new InstanceSpec(null, -1, -1, -1, true, -1, -1, -1,
                Map.of("clientPortAddress", "127.0.0.1")), true);
        try {
            final DiscoveryServer discovery = DiscoveryServer.start(options,
                    List.of(Registries.fromUri("zookeeper://" + zk.getConnectString())));
            return new RpcMesh(zk, discovery, security, configDir);
        } catch (Exception e) {
            zk.close();
            throw e;
        }
    }

    /** Istio's node id of the sidecar {@code name} at {@code ip} (namespace {@code default}). */
    static String nodeId(String name, String ip) {
        return "sidecar~" + ip + "~" + name + ".default~default.svc.cluster.local";
    }

    /**
     * Writes {@code text} as {@code name} in the config directory (atomically; null: deletes it), then waits until
     * discovery has made a snapshot from it holding exactly the AuthorizationPolicies of {@code text} and the sidecar
     * {@code nodeId} has ACKed the listeners discovery generates for it from that snapshot.
     */
    void applyPolicies(String name, String text, String nodeId) throws Exception {
        final Set<String> keys = keys(text);
        final long before = discovery.snapshot().version();
        final Path file = configDir.resolve(name);
        if (text == null) {
            if (!Files.deleteIfExists(file)) {
                return; // nothing written before: discovery makes no new snapshot
            }
        } else {
            final Path tmp = configDir.resolve("." + name + ".tmp");
            Files.writeString(tmp, text, UTF_8);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        await("discovery holds " + keys, () -> {
            final Set<String> now = new TreeSet<>();
            for (var c : discovery.snapshot().config().configs()) {
                if (c.meta().kind().kindName().equals("AuthorizationPolicy")) {
                    now.add(c.meta().key());
                }
            }
            return discovery.snapshot().version() > before && now.equals(keys);
        });
        final String lds = TypeUrls.shortName(TypeUrls.LISTENER);
        await(nodeId + " ACKed the listeners of the new snapshot", () -> {
            final var proxy = discovery.ads().proxy(nodeId);
            if (proxy == null) {
                return false;
            }
            final String version = discovery.ads().cache().get(TypeUrls.LISTENER, proxy, discovery.ads().snapshot())
                    .version();
            return discovery.ads().statuses().stream().anyMatch(s -> s.nodeId().equals(nodeId)
                    && s.types().get(lds) != null && version.equals(s.types().get(lds).ackedVersion()));
        });
    }

    /** The {@code Kind/namespace/name} of each object of the YAML {@code text} (none for null). */
    private static Set<String> keys(String text) throws IOException {
        final Set<String> keys = new TreeSet<>();
        if (text == null) {
            return keys;
        }
        try (MappingIterator<JsonNode> docs = YAML.readerFor(JsonNode.class).readValues(text)) {
            while (docs.hasNext()) {
                final JsonNode d = docs.next();
                if (d != null && d.has("kind")) {
                    keys.add(d.get("kind").asText() + "/" + d.at("/metadata/namespace").asText() + "/"
                            + d.at("/metadata/name").asText());
                }
            }
        }
        return keys;
    }

    /** ZooKeeper's {@code host:port}. */
    String zookeeper() {
        return zk.getConnectString();
    }

    /** A provider workload's sidecar: node IP {@code ip}, inbound ports bound on {@code ip}. */
    ProxyServer providerSidecar(String name, String ip) throws Exception {
        return sidecar(name, ip, new ListenerBinding("127.0.0.1", Map.of(), ip));
    }

    /** A consumer's sidecar: outbound Dubbo and Bolt listeners on free ports of 127.0.0.1 (see {@link #outbound}). */
    ProxyServer consumerSidecar(String name, String ip) throws Exception {
        return sidecar(name, ip, new ListenerBinding("127.0.0.1", Map.of(DUBBO_PORT, 0, BOLT_PORT, 0), null));
    }

    private ProxyServer sidecar(String name, String ip, ListenerBinding binding) throws Exception {
        final String node = nodeId(name, ip);
        var bootstrap = AdsBootstrap.forDiscovery("127.0.0.1", discovery.grpcAddress().getPort(), node, Map.of(),
                Map.of("app", name), 0);
        if (security != null) {
            final NodeAgent agent = NodeAgent.start(AgentOptions.builder().trustDomain("cluster.local")
                    .namespace("default").serviceAccount(name).build(),
                    IstioCaClient.create("127.0.0.1:" + discovery.secureGrpcAddress().getPort(),
                            security.resolve("ca").resolve(CaRoots.ROOT_CERT), security.resolve(name + ".token")),
                    security.resolve(name + ".sds"), AgentScheduler.system());
            closeables.add(agent::close);
            bootstrap = AdsBootstrap.withSdsCluster(bootstrap, agent.sds().socket());
        }
        final ProxyServer p = ProxyServer.start(bootstrap, 1, binding);
        closeables.add(p::close);
        return p;
    }

    /** Starts a provider app in a child JVM, closed with the mesh. */
    ChildJvm provider(String name, Class<?> main, boolean curator4, String ip, int port) throws Exception {
        final ChildJvm child = ChildJvm.start(name, main, curator4, zookeeper(), ip, String.valueOf(port), name);
        closeables.add(child::close);
        return child;
    }

    /** The bound address of a sidecar's outbound listener for service port {@code port}, once LDS has it. */
    static InetSocketAddress outbound(ProxyServer sidecar, int port) throws InterruptedException {
        final String name = "0.0.0.0_" + port;
        await("listener " + name, () -> sidecar.listenerAddresses().containsKey(name));
        return sidecar.listenerAddresses().get(name);
    }

    /** The bound address of a provider sidecar's inbound listener for workload port {@code port}. */
    static InetSocketAddress inbound(ProxyServer sidecar, String ip, int port) throws InterruptedException {
        final String name = ip + "_" + port;
        await("inbound listener " + name, () -> sidecar.listenerAddresses().containsKey(name));
        return sidecar.listenerAddresses().get(name);
    }

    /** The sum of a sidecar's counters named {@code prefix...suffix}. */
    static long counter(ProxyServer sidecar, String prefix, String suffix) {
        long sum = 0;
        for (Map.Entry<String, Long> e : sidecar.stats().counterValues().entrySet()) {
            if (e.getKey().startsWith(prefix) && e.getKey().endsWith(suffix)) {
                sum += e.getValue();
            }
        }
        return sum;
    }

    /**
     * A consumer's sidecar from a static bootstrap (node cluster {@code consumer.default}): one OUTBOUND listener
     * {@code listener} whose rpc_proxy ({@code protocol}, stat prefix {@code listener}) routes the interface
     * {@code service} to the cluster {@code provider} at {@code providerPort} and has {@code tracing} exporting
     * over OTLP/gRPC to {@code collector} as {@code consumer.default}.
     */
    static ProxyFixture tracedConsumerSidecar(String protocol, String listener, String service, int providerPort,
                                              OtlpReceiver collector) throws Exception {
        return consumerSidecar(protocol, listener, service, providerPort,
                OtlpReceiver.tracing("consumer.default", ""))
                .http2Cluster("otel", collector.port())
                .start();
    }

    /**
     * As {@link #tracedConsumerSidecar}, with Envoy's Zipkin tracer (B3 propagation) exporting to a {@code zipkin}
     * cluster that no test reads: for tests of what the provider receives, whose calls are not sampled.
     */
    static ProxyFixture b3ConsumerSidecar(String protocol, String listener, String service, int providerPort)
            throws Exception {
        return consumerSidecar(protocol, listener, service, providerPort,
                "{ provider: { name: envoy.tracers.zipkin, typed_config: "
                        + Bootstraps.typed("envoy.config.trace.v3.ZipkinConfig", "collector_cluster: zipkin, "
                        + "collector_endpoint: /api/v2/spans, collector_endpoint_version: HTTP_JSON") + " } }")
                .cluster("zipkin")
                .start();
    }

    /**
     * The consumer's sidecar of {@link #tracedConsumerSidecar} with the rpc_proxy's {@code tracing}; the caller adds
     * the collector's cluster and starts it.
     */
    private static Bootstraps consumerSidecar(String protocol, String listener, String service, int providerPort,
                                              String tracing) {
        return Bootstraps.rpc(protocol).listener(listener).statPrefix(listener)
                .bootstrap("node", "{ id: consumer-node, cluster: consumer.default }")
                .listenerOption("traffic_direction", "OUTBOUND")
                .option("tracing", tracing)
                .virtualHost(service, service)
                .route("/", "provider")
                .cluster("provider", providerPort);
    }

    /** A free port of 127.0.0.1 (for an app: the same port is then bound by its sidecar on its own IP). */
    static int freePort() throws Exception {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return probe.getLocalPort();
        }
    }

    /**
     * Sends {@code frame} on a new connection to {@code listener} and asserts that the sidecar closes that
     * connection (end of stream or reset) without answering, within 30 s.
     */
    static void assertClosesConnection(InetSocketAddress listener, byte[] frame) throws Exception {
        try (Socket s = new Socket()) {
            s.connect(listener, 10_000);
            s.setSoTimeout(30_000);
            s.getOutputStream().write(frame);
            s.getOutputStream().flush();
            int read;
            try {
                read = s.getInputStream().read();
            } catch (SocketException reset) {
                read = -1;
            }
            assertEquals(-1, read, "the sidecar answered a malformed frame instead of closing the connection");
        }
    }

    /** Polls {@code condition} (every 10 ms, {@link Poll}) for up to 60 s. */
    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        Poll.until(condition, what, Duration.ofSeconds(60));
    }

    @Override
    public void close() throws IOException {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).run();
        }
        try {
            discovery.close();
        } finally {
            zk.close();
        }
    }
}
