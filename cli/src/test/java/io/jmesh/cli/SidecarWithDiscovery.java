package io.jmesh.cli;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.jmesh.discovery.DiscoveryOptions;
import io.jmesh.discovery.DiscoveryServer;
import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.xds.AdsBootstrap;
import io.jmesh.proxy.xds.ListenerBinding;

/**
 * A {@code jmesh discovery} serving the Istio YAML of a directory, and one sidecar ({@code client.default} unless
 * named otherwise, one event loop) following it over ADS, its port 9080 bound on a port 0 of 127.0.0.1. Closes both.
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
        DiscoveryServer discovery = DiscoveryServer.start(new DiscoveryOptions(configDir,
                new InetSocketAddress("127.0.0.1", 0), new InetSocketAddress("127.0.0.1", 0), null,
                DiscoveryOptions.DEFAULT_DEBOUNCE));
        try {
            return new SidecarWithDiscovery(discovery, ProxyServer.start(AdsBootstrap.forDiscovery("127.0.0.1",
                    discovery.grpcAddress().getPort(), node, Map.of(), labels, 0), 1,
                    new ListenerBinding("127.0.0.1", Map.of(9080, 0))));
        } catch (Exception | Error e) {
            discovery.close();
            throw e;
        }
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
