package io.jmesh.proxy.network.rpc;

import static io.jmesh.proxy.network.rpc.RpcPeers.request;
import static io.jmesh.proxy.network.rpc.RpcPeers.server;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.testing.TestCertificates;
import io.netty.util.ReferenceCountUtil;

/**
 * Protocol sniffing: one inbound port takes HTTP/1.1 and h2c (curl), TLS (curl over HTTPS), Bolt and Dubbo
 * (clients built with the codec), and each reaches its own backend through the filter chain whose
 * {@code transport_protocol} / {@code application_protocols} match what tls_inspector, http_inspector and
 * rpc_inspector found.
 */
class ProtocolSniffingTest {

    static final String CONFIG = """
            static_resources:
              listeners:
              - name: inbound
                address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
                listener_filters:
                - name: envoy.filters.listener.tls_inspector
                  typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector }
                - name: envoy.filters.listener.http_inspector
                  typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector }
                - name: jmesh.filters.listener.rpc_inspector
                filter_chains:
                - filter_chain_match: { transport_protocol: tls }
                  transport_socket:
                    name: envoy.transport_sockets.tls
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
                      common_tls_context:
                        alpn_protocols: [h2, http/1.1]
                        tls_certificates:
                        - certificate_chain: { filename: "${CERT}" }
                          private_key: { filename: "${KEY}" }
                  filters: [${HCM_TLS}]
                - filter_chain_match: { application_protocols: [http/1.1] }
                  filters: [${HCM_H1}]
                - filter_chain_match: { application_protocols: [h2c] }
                  filters: [${HCM_H2C}]
                - filter_chain_match: { application_protocols: [bolt] }
                  filters: [${RPC_BOLT}]
                - filter_chain_match: { application_protocols: [dubbo] }
                  filters: [${RPC_DUBBO}]
              clusters: [${CLUSTERS}]
            """;

    static String hcm(String cluster) {
        return "{name: envoy.filters.network.http_connection_manager, typed_config: {\"@type\": type.googleapis.com/"
                + "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager, stat_prefix: "
                + cluster + ", http_filters: [{name: envoy.filters.http.router}], route_config: {virtual_hosts: [{name: "
                + "all, domains: [\"*\"], routes: [{match: {prefix: /}, route: {cluster: " + cluster + "}}]}]}}}";
    }

    static String rpc(String protocol) {
        return "{name: jmesh.filters.network.rpc_proxy, typed_config: {\"@type\": type.googleapis.com/xds.type.v3."
                + "TypedStruct, type_url: type.googleapis.com/jmesh.filters.network.rpc_proxy.v1.RpcProxy, value: {"
                + "stat_prefix: " + protocol + ", protocol: " + protocol + ", route_config: {virtual_hosts: [{name: all,"
                + " domains: [\"*\"], routes: [{match: {prefix: /}, route: {cluster: " + protocol + "}}]}]}}}}";
    }

    static String cluster(String name, int port) {
        return "{name: " + name + ", connect_timeout: 1s, type: STATIC, load_assignment: {cluster_name: " + name
                + ", endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: "
                + port + "}}}}]}]}}";
    }

    @Test
    void http11H2cTlsBoltAndDubboOnOnePort(@TempDir Path dir) throws Exception {
        TestCertificates ca = TestCertificates.create(dir);
        TestCertificates.Issued cert = ca.issue("inbound", null, List.of("sniff.mesh.example"));
        List<AutoCloseable> resources = new ArrayList<>();
        ProxyFixture proxy = null;
        try (TestBackend tls = TestBackend.start("tls");
             TestBackend h1 = TestBackend.start("h1");
             TestBackend h2c = TestBackend.start("h2c")) {
            RpcPeers.EchoServer bolt = new RpcPeers.EchoServer(RpcProtocol.BOLT, "bolt-server");
            resources.add(bolt);
            RpcPeers.EchoServer dubbo = new RpcPeers.EchoServer(RpcProtocol.DUBBO, "dubbo-server");
            resources.add(dubbo);
            proxy = ProxyFixture.start(CONFIG, Map.of(
                    "CERT", cert.certificateChain(), "KEY", cert.privateKey(),
                    "HCM_TLS", hcm("tls"), "HCM_H1", hcm("h1"), "HCM_H2C", hcm("h2c"),
                    "RPC_BOLT", rpc("bolt"), "RPC_DUBBO", rpc("dubbo"),
                    "CLUSTERS", String.join(", ", cluster("tls", tls.port()), cluster("h1", h1.port()),
                            cluster("h2c", h2c.port()), cluster("bolt", bolt.port()), cluster("dubbo", dubbo.port()))));
            int port = proxy.port();

            Curl.Result r1 = Curl.run("--http1.1", proxy.url("/one"));
            assertEquals(200, r1.status, r1.toString());
            assertTrue(r1.body.contains("backend=h1"), r1.toString());

            Curl.Result r2 = Curl.run("--http2-prior-knowledge", proxy.url("/two"));
            assertEquals("HTTP/2", r2.httpVersion, r2.toString());
            assertTrue(r2.body.contains("backend=h2c"), r2.toString());

            Curl.Result r3 = Curl.run("--resolve", "sniff.mesh.example:" + port + ":127.0.0.1", "--cacert",
                    ca.caCertificate().toString(), "https://sniff.mesh.example:" + port + "/three");
            assertEquals(200, r3.status, r3.toString());
            assertTrue(r3.body.contains("backend=tls"), r3.toString());

            for (RpcProtocol p : RpcProtocol.values()) {
                RpcPeers.Client c = new RpcPeers.Client(p, port);
                resources.add(0, c);
                Object resp = c.call(request(p, 7, false, 0, "com.example.Echo", "echo", Map.of(), "hi"));
                try {
                    assertEquals(p == RpcProtocol.BOLT ? "bolt-server" : "dubbo-server", server(resp));
                } finally {
                    ReferenceCountUtil.release(resp);
                }
            }
            assertEquals(1, proxy.counter("rpc.bolt.request_total"));
            assertEquals(1, proxy.counter("rpc.dubbo.request_total"));
        } finally {
            RpcPeers.closeAll(resources, proxy);
        }
    }
}
