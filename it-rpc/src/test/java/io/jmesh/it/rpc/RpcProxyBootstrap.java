package io.jmesh.it.rpc;

import io.jmesh.proxy.config.BootstrapLoader;
import io.jmesh.proxy.server.ProxyServer;

/**
 * The static bootstrap of a one-proxy RPC test: {@code jmesh.filters.network.rpc_proxy} listeners on port 0 of
 * 127.0.0.1, each with its RPC filters and virtual hosts, and STATIC clusters of one 127.0.0.1 endpoint each. The
 * filters and virtual hosts are YAML lists written from column 0; they are indented into place here.
 */
final class RpcProxyBootstrap {

    private final StringBuilder listeners = new StringBuilder();
    private final StringBuilder clusters = new StringBuilder();

    /**
     * Adds listener {@code name} (its stat prefix: the name with {@code -} as {@code _}) speaking {@code protocol}
     * ({@code dubbo}, {@code bolt}), running {@code filters} (a YAML list; empty for the router alone) and routing by
     * {@code virtualHosts} (a YAML list, see {@link #routeAll}).
     */
    RpcProxyBootstrap listener(String name, String protocol, String filters, String virtualHosts) {
        listeners.append("""
                - name: %s
                  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
                  filter_chains:
                  - filters:
                    - name: jmesh.filters.network.rpc_proxy
                      typed_config:
                        "@type": type.googleapis.com/xds.type.v3.TypedStruct
                        type_url: type.googleapis.com/jmesh.filters.network.rpc_proxy.v1.RpcProxy
                        value:
                          stat_prefix: %s
                          protocol: %s
                """.formatted(name, name.replace('-', '_'), protocol));
        if (!filters.isBlank()) {
            listeners.append("          filters:\n").append(indent(filters, 10));
        }
        listeners.append("          route_config:\n            virtual_hosts:\n").append(indent(virtualHosts, 12));
        return this;
    }

    /** Adds cluster {@code name} with the one endpoint {@code 127.0.0.1:port}. */
    RpcProxyBootstrap cluster(String name, int port) {
        clusters.append("""
                - name: %1$s
                  connect_timeout: 1s
                  type: STATIC
                  load_assignment:
                    cluster_name: %1$s
                    endpoints:
                    - lb_endpoints:
                      - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %2$d } } }
                """.formatted(name, port));
        return this;
    }

    /** A virtual hosts list of one host {@code name} for {@code domain} sending every call to {@code cluster}. */
    static String routeAll(String name, String domain, String cluster) {
        return """
                - name: %s
                  domains: ["%s"]
                  routes:
                  - match: { prefix: "/" }
                    route: { cluster: %s }
                """.formatted(name, domain, cluster);
    }

    /** The bootstrap as YAML. */
    String yaml() {
        return "static_resources:\n  listeners:\n" + indent(listeners.toString(), 2) + "  clusters:\n"
                + indent(clusters.toString(), 2);
    }

    /** Starts a proxy (one event loop) with this bootstrap. */
    ProxyServer start() throws Exception {
        return ProxyServer.start(BootstrapLoader.parse(yaml()), 1);
    }

    private static String indent(String yaml, int spaces) {
        String pad = " ".repeat(spaces);
        StringBuilder out = new StringBuilder();
        for (String line : yaml.stripIndent().lines().toList()) {
            out.append(line.isBlank() ? "" : pad + line).append('\n');
        }
        return out.toString();
    }
}
