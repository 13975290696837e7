package io.jmesh.cli;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.jmesh.discovery.CaOptions;
import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.server.ProxyStatus;
import io.jmesh.discovery.xds.ProxyNode;
import io.jmesh.discovery.xds.TypeUrls;
import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.xds.AdsBootstrap;
import io.jmesh.proxy.xds.ListenerBinding;
import io.jmesh.security.agent.AgentOptions;
import io.jmesh.security.agent.AgentScheduler;
import io.jmesh.security.agent.IstioCaClient;
import io.jmesh.security.agent.NodeAgent;
import io.jmesh.security.ca.CaRoots;

/**
 * A mesh on one machine with Istio's security: {@code jmesh discovery} serving a config directory and running the
 * CA (a bearer token per workload identity), and sidecars following it over ADS, each with its node agent (a SPIFFE
 * certificate for its namespace and service account, served over SDS). A server workload's sidecar binds its
 * inbound ports on the workload's own loopback IP; a client's binds the outbound listeners of the ports asked for on
 * free ports of 127.0.0.1. Closes everything it started, last started first.
 */
final class MutualTlsMesh implements AutoCloseable {

    /** A workload identity: its namespace and service account. */
    record Identity(String namespace, String serviceAccount) {
        String spiffeId() {
            return "spiffe://cluster.local/ns/" + namespace + "/sa/" + serviceAccount;
        }

        @Override
        public String toString() {
            return serviceAccount + "." + namespace;
        }
    }

    private final Path configDir;
    private final Path security;
    private final DiscoveryServer discovery;
    private final List<AutoCloseable> closeables = new ArrayList<>();
    /** The text last written by {@link #apply}, by file name (null: deleted). */
    private final Map<String, String> applied = new java.util.HashMap<>();

    private MutualTlsMesh(Path configDir, Path security, DiscoveryServer discovery) {
        this.configDir = configDir;
        this.security = security;
        this.discovery = discovery;
    }

    /**
     * Starts discovery on {@code configDir} (whose files are already written) with the CA in {@code securityDir},
     * tokens for {@code identities}, and MeshConfig {@code meshConfig} (may be null).
     */
    static MutualTlsMesh start(Path configDir, Path securityDir, Path meshConfig, List<Identity> identities)
            throws Exception {
        StringBuilder tokens = new StringBuilder("tokens:\n");
        for (Identity id : identities) {
            String token = "token-of-" + id.serviceAccount() + "-" + id.namespace() + "-0123456789abcdef";
            tokens.append("- {token: ").append(token).append(", namespace: ").append(id.namespace())
                    .append(", serviceAccount: ").append(id.serviceAccount()).append("}\n");
            Files.writeString(securityDir.resolve(id + ".token"), token);
        }
        Files.writeString(securityDir.resolve("tokens.yaml"), tokens);
        DiscoveryServer discovery = DiscoveryServer.start(new DiscoveryOptions(configDir,
                new InetSocketAddress("127.0.0.1", 0), new InetSocketAddress("127.0.0.1", 0), meshConfig,
                DiscoveryOptions.DEFAULT_DEBOUNCE).withCa(CaOptions.of(new InetSocketAddress("127.0.0.1", 0),
                Files.createDirectories(securityDir.resolve("ca")), securityDir.resolve("tokens.yaml"))));
        return new MutualTlsMesh(configDir, securityDir, discovery);
    }

    DiscoveryServer discovery() {
        return discovery;
    }

    /** A server workload's sidecar: node IP {@code ip}, labels {@code labels}, inbound ports bound on {@code ip}. */
    ProxyServer serverSidecar(Identity id, String ip, Map<String, String> labels) throws Exception {
        return sidecar(id, ip, labels, new ListenerBinding("127.0.0.1", Map.of(), ip));
    }

    /** A client's sidecar: the outbound listeners of {@code ports} on free ports of 127.0.0.1. */
    ProxyServer clientSidecar(Identity id, String ip, Map<String, String> labels, Set<Integer> ports)
            throws Exception {
        Map<Integer, Integer> mapped = new java.util.HashMap<>();
        ports.forEach(p -> mapped.put(p, 0));
        return sidecar(id, ip, labels, new ListenerBinding("127.0.0.1", mapped, null));
    }

    /** Istio's node id of the sidecar of {@code id} at {@code ip}. */
    static String nodeId(Identity id, String ip) {
        return "sidecar~" + ip + "~" + id.serviceAccount() + "." + id.namespace() + "~" + id.namespace()
                + ".svc.cluster.local";
    }

    private ProxyServer sidecar(Identity id, String ip, Map<String, String> labels, ListenerBinding binding)
            throws Exception {
        Bootstrap bootstrap = AdsBootstrap.forDiscovery("127.0.0.1", discovery.grpcAddress().getPort(),
                nodeId(id, ip), Map.of(), labels, 0);
        NodeAgent agent = NodeAgent.start(AgentOptions.builder().trustDomain("cluster.local")
                        .namespace(id.namespace()).serviceAccount(id.serviceAccount()).build(),
                IstioCaClient.create("127.0.0.1:" + discovery.secureGrpcAddress().getPort(),
                        security.resolve("ca").resolve(CaRoots.ROOT_CERT), security.resolve(id + ".token")),
                security.resolve(id + ".sds"), AgentScheduler.system());
        closeables.add(agent::close);
        ProxyServer p = ProxyServer.start(AdsBootstrap.withSdsCluster(bootstrap, agent.sds().socket()), 1, binding);
        closeables.add(p::close);
        return p;
    }

    /**
     * Writes {@code name} in the config directory atomically ({@code text} null: deletes it), then waits until
     * discovery holds exactly the security objects {@code expectedKeys} ({@code Kind/namespace/name}) and every
     * sidecar of {@code nodeIds} has ACKed the listeners discovery generates for it from that snapshot.
     */
    void apply(String name, String text, Set<String> expectedKeys, List<String> nodeIds) throws Exception {
        if (java.util.Objects.equals(applied.get(name), text) && applied.containsKey(name)) {
            return; // unchanged: discovery makes no new snapshot
        }
        applied.put(name, text);
        long before = discovery.snapshot().version();
        Path file = configDir.resolve(name);
        if (text == null && !Files.exists(file)) {
            return; // nothing to delete: discovery makes no new snapshot
        }
        if (text == null) {
            Files.deleteIfExists(file);
        } else {
            Path tmp = configDir.resolve("." + name + ".tmp");
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        // A snapshot made after the write (file event -> read -> snapshot) with the objects of the file.
        Poll.until(() -> discovery.snapshot().version() > before && securityKeys().equals(expectedKeys),
                "discovery holds " + expectedKeys + " (errors: " + discovery.snapshot().config().errors() + ")",
                Duration.ofSeconds(30));
        for (String node : nodeIds) {
            Poll.until(() -> listenersAcked(node), node + " ACKed the listeners of snapshot "
                    + discovery.snapshot().version(), Duration.ofSeconds(30));
        }
    }

    private Set<String> securityKeys() {
        Set<String> keys = new TreeSet<>();
        for (Config<?> c : discovery.snapshot().config().configs()) {
            String kind = c.meta().kind().kindName();
            if (kind.equals("AuthorizationPolicy") || kind.equals("RequestAuthentication")) {
                keys.add(c.meta().key());
            }
        }
        return keys;
    }

    /** Whether the sidecar {@code nodeId} has ACKed the LDS that the current snapshot gives it. */
    boolean listenersAcked(String nodeId) {
        ProxyNode proxy = discovery.ads().proxy(nodeId);
        if (proxy == null) {
            return false;
        }
        var snapshot = discovery.ads().snapshot();
        String version = discovery.ads().cache().get(TypeUrls.LISTENER, proxy, snapshot).version();
        for (ProxyStatus s : discovery.ads().statuses()) {
            ProxyStatus.TypeStatus lds = s.types().get(TypeUrls.shortName(TypeUrls.LISTENER));
            if (s.nodeId().equals(nodeId) && lds != null && version.equals(lds.ackedVersion())) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
        discovery.close();
    }
}
