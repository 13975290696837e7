package io.jmesh.benchmarks.tls;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

import io.jmesh.proxy.config.BootstrapLoader;
import io.jmesh.proxy.server.ProxyServer;

/**
 * A jmesh proxy with one TLS listener answering every request itself ({@code direct_response}, 6 bytes), for
 * the socket-level TLS engine run in {@code docs/performance.md} ("TLS engine"): start it with
 * {@code -Djmesh.tls.engine=jdk} or {@code openssl}, then load it with {@code wrk https://127.0.0.1:PORT/}
 * (keep-alive: CPU per TLS request) or with {@code -H 'Connection: close'} (one handshake per request).
 * Usage: {@code java -cp benchmarks.jar io.jmesh.benchmarks.tls.TlsProxyMain PORT [rsa|ec] [WORKERS]}.
 */
public final class TlsProxyMain {

    private TlsProxyMain() {}

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        String key = args.length > 1 ? args[1] : "ec";
        int workers = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        Path dir = Files.createTempDirectory("tls-bench");
        for (String f : new String[] { key + ".pem", key + "-key.pem" }) {
            try (InputStream in = TlsProxyMain.class.getResourceAsStream("/tls/" + f)) {
                Files.copy(in, dir.resolve(f));
            }
        }
        String yaml = """
                static_resources:
                  listeners:
                  - name: https
                    address: { socket_address: { address: 127.0.0.1, port_value: %d } }
                    filter_chains:
                    - transport_socket:
                        name: envoy.transport_sockets.tls
                        typed_config:
                          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                          common_tls_context:
                            alpn_protocols: ["http/1.1"]
                            tls_certificates:
                            - certificate_chain: { filename: "%s" }
                              private_key: { filename: "%s" }
                      filters:
                      - name: envoy.filters.network.http_connection_manager
                        typed_config:
                          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                          stat_prefix: https
                          route_config:
                            virtual_hosts:
                            - name: all
                              domains: ["*"]
                              routes: [{ match: { prefix: / }, direct_response: { status: 200, body: { inline_string: "hello\\n" } } }]
                          http_filters: [{ name: envoy.filters.http.router }]
                """.formatted(port, dir.resolve(key + ".pem"), dir.resolve(key + "-key.pem"));
        ProxyServer server = ProxyServer.start(BootstrapLoader.parse(yaml), workers);
        System.out.println("listening on " + server.listenerAddresses().get("https"));
        server.awaitTermination();
    }
}
