package io.jmesh.cli;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.xds.AdsBootstrap;
import io.jmesh.proxy.xds.ListenerBinding;

/**
 * A {@code jmesh discovery} serving the Istio YAML of a directory, and one sidecar (one event loop) following it over
 * ADS: {@code client.default} unless named otherwise, its port 9080 bound on a port 0 of 127.0.0.1; or
 * {@link #httpbin} with inbound listeners. Closes both.
 */
final class SidecarWithDiscovery implements AutoCloseable {

    static final String NODE = "sidecar~10.0.0.1~client.default~default.svc.cluster.local";

    final DiscoveryServer discovery;
    final ProxyServer proxy;

    private SidecarWithDiscovery(DiscoveryServer discovery, ProxyServer proxy) {
        this.discovery = discovery;
        this.proxy = proxy;
    }

    /** Starts discovery and the sidecar {@link #NODE} with labels {@code app=client}. */
    static SidecarWithDiscovery start(Path configDir) throws Exception {
        return start(configDir, NODE, Map.of("app", "client"));
    }

    /** Starts discovery and a sidecar with node id {@code node} and workload {@code labels}. */
    static SidecarWithDiscovery start(Path configDir, String node, Map<String, String> labels) throws Exception {
        return start(configDir, null, node, labels, new ListenerBinding("127.0.0.1", Map.of(9080, 0)));
    }

    /**
     * Starts discovery (with MeshConfig {@code meshConfig}, or none when null) and the sidecar of Istio's
     * {@code httpbin.foo} workload at address {@code inbound} (a 127.0.0.0/8 address of its own, labels
     * {@code app=httpbin}), whose inbound listeners {@code inbound_PORT} bind port 0 of that address. Pair it with
     * {@link #httpbinConfig}.
     */
    static SidecarWithDiscovery httpbin(Path configDir, Path meshConfig, String inbound) throws Exception {
        return start(configDir, meshConfig, "sidecar~" + inbound + "~httpbin.foo~foo.svc.cluster.local",
                Map.of("app", "httpbin"), new ListenerBinding("127.0.0.1", Map.of(), inbound));
    }

    private static SidecarWithDiscovery start(Path configDir, Path meshConfig, String node, Map<String, String> labels,
            ListenerBinding binding) throws Exception {
        DiscoveryServer discovery = DiscoveryServer.start(new DiscoveryOptions(configDir,
                new InetSocketAddress("127.0.0.1", 0), new InetSocketAddress("127.0.0.1", 0), meshConfig,
                DiscoveryOptions.DEFAULT_DEBOUNCE));
        try {
            return new SidecarWithDiscovery(discovery, ProxyServer.start(AdsBootstrap.forDiscovery("127.0.0.1",
                    discovery.grpcAddress().getPort(), node, Map.of(), labels, 0), 1, binding));
        } catch (Exception | Error e) {
            discovery.close();
            throw e;
        }
    }

    /**
     * Istio YAML for {@link #httpbin}: a mesh-wide PeerAuthentication DISABLE (no node agent runs in these tests:
     * plaintext between sidecars; mTLS has its own tests), the ServiceEntry {@code httpbin.foo.svc.cluster.local}
     * with port 8000 {@code http} (and 9000 {@code tcp} when {@code tcpPort > 0}) selecting {@code app=httpbin},
     * and its WorkloadEntry at {@code inbound} whose ports are the backends' {@code httpPort}/{@code tcpPort}.
     * Ends with a document separator, so more documents can follow.
     */
    static String httpbinConfig(String inbound, int httpPort, int tcpPort) {
        return """
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: istio-system}
                spec: {mtls: {mode: DISABLE}}
                ---
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: httpbin, namespace: foo}
                spec:
                  hosts: [httpbin.foo.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports:
                  - {number: 8000, name: http, protocol: HTTP}
                %s  workloadSelector: {labels: {app: httpbin}}
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: {name: httpbin, namespace: foo}
                spec: {address: %s, ports: {http: %d%s}, labels: {app: httpbin}}
                ---
                """.formatted(tcpPort > 0 ? "  - {number: 9000, name: tcp, protocol: TCP}\n" : "", inbound, httpPort,
                tcpPort > 0 ? ", tcp: " + tcpPort : "");
    }

    /**
     * Waits (30 s at most) for the inbound listener of {@code inbound} for application port {@code appPort} (from
     * LDS) and returns its base URL {@code http://INBOUND:P}.
     */
    String inboundBase(String inbound, int appPort) throws Exception {
        String name = inbound + "_" + appPort;
        Poll.until(() -> proxy.listenerAddresses().containsKey(name), "the inbound listener " + name + " from LDS");
        return "http://" + inbound + ":" + proxy.listenerAddresses().get(name).getPort();
    }

    /** Discovery's monitoring address, {@code 127.0.0.1:PORT} (the {@code -d} of the istioctl verbs). */
    String monitoring() {
        return "127.0.0.1:" + discovery.monitoringAddress().getPort();
    }

    /** The sidecar's admin address, {@code 127.0.0.1:PORT}. */
    String admin() {
        return "127.0.0.1:" + proxy.adminAddress().getPort();
    }

    /**
     * Waits (30 s at most) until a GET of {@code /} with Host {@code host} through the sidecar's 9080 listener
     * answers 200; returns that status and the listener's base URL {@code http://127.0.0.1:P}.
     */
    Ready awaitRoute(String host) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        int status = 0;
        while (System.nanoTime() < deadline && status != 200) {
            InetSocketAddress l = proxy.listenerAddresses().get("0.0.0.0_9080");
            status = l == null ? 0 : Curl.run("-H", "Host: " + host, "http://127.0.0.1:" + l.getPort() + "/").status;
            Thread.sleep(status == 200 ? 0 : 100);
        }
        InetSocketAddress l = proxy.listenerAddresses().get("0.0.0.0_9080");
        return new Ready(status, l == null ? null : "http://127.0.0.1:" + l.getPort());
    }

    /** The last status seen, and the base URL of the 9080 listener (null if it never came). */
    record Ready(int status, String baseUrl) {}

    @Override
    public void close() {
        proxy.close();
        discovery.close();
    }
}
