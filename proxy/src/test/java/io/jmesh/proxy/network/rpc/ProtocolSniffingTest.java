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

import io.jmesh.proxy.testing.Bootstraps;
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

    /** An HTTP chain routing to {@code cluster} (also its stat prefix). */
    static Bootstraps hcm(String cluster, int port) {
        return Bootstraps.http().statPrefix(cluster).route("/", cluster).cluster(cluster, port);
    }

    /** An RPC chain for {@code protocol}, routing to the cluster of that name (also its stat prefix). */
    static Bootstraps rpc(String protocol, int port) {
        return Bootstraps.rpc(protocol).statPrefix(protocol).route("/", protocol).cluster(protocol, port);
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
            proxy = Bootstraps.multiChain("inbound")
                    .listenerFilter("envoy.filters.listener.tls_inspector",
                            Bootstraps.typed("envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector", ""))
                    .listenerFilter("envoy.filters.listener.http_inspector",
                            Bootstraps.typed("envoy.extensions.filters.listener.http_inspector.v3.HttpInspector", ""))
                    .listenerFilter("jmesh.filters.listener.rpc_inspector", null)
                    .filterChain("{ transport_protocol: tls }", hcm("tls", tls.port())
                            .downstreamTls(cert.certificateChain(), cert.privateKey(), "h2", "http/1.1"))
                    .filterChain("{ application_protocols: [http/1.1] }", hcm("h1", h1.port()))
                    .filterChain("{ application_protocols: [h2c] }", hcm("h2c", h2c.port()))
                    .filterChain("{ application_protocols: [bolt] }", rpc("bolt", bolt.port()))
                    .filterChain("{ application_protocols: [dubbo] }", rpc("dubbo", dubbo.port()))
                    .start(2);
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
