package io.jmesh.proxy.filter.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.PrometheusText;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestCertificates;

/**
 * Istio's TCP metadata exchange between two real proxies over mutual TLS: an app → client sidecar (outbound
 * tcp_proxy to a cluster with {@code filters: [istio.metadata_exchange]}, ALPN {@code istio-peer-exchange}) → server
 * sidecar (inbound chain {@code istio.metadata_exchange}, {@code istio.stats}, tcp_proxy) → a TCP echo server. Each
 * side's {@code istio_tcp_*} metrics name the other side's workload, and the exchange's bytes reach neither the
 * echo server nor the app, nor the byte counters.
 */
class IstioStatsTcpPeerExchangeTest {

    static final String MX = Bootstraps.typedStruct("envoy.tcp.metadataexchange.config.MetadataExchange",
            "{ protocol: istio-peer-exchange }");
    static final String STATS = Bootstraps.typedStruct("stats.PluginConfig", "{}");
    static final String CLIENT_ID = "spiffe://cluster.local/ns/default/sa/bookinfo-productpage";
    static final String SERVER_ID = "spiffe://cluster.local/ns/default/sa/bookinfo-echo";
    static final String SERVICE = "echo.default.svc.cluster.local";

    @TempDir
    Path dir;

    /**
     * The labels one side reports; {@code exchanged}: the peer's workload is known. The principals come from the TLS
     * connection (the server's downstream one, the client's upstream one), exchange or not.
     */
    static Map<String, String> labels(String reporter, boolean exchanged) {
        boolean server = reporter.equals("destination");
        boolean source = !server || exchanged;
        boolean destination = server || exchanged;
        Map<String, String> l = new LinkedHashMap<>();
        l.put("reporter", reporter);
        l.put("source_workload", source ? "productpage-v1" : "unknown");
        l.put("source_workload_namespace", source ? "default" : "unknown");
        l.put("source_principal", CLIENT_ID); // the client certificate's, on both sides: mutual TLS in both cases
        l.put("source_app", source ? "productpage" : "unknown");
        l.put("source_version", source ? "v1" : "unknown");
        l.put("source_canonical_service", source ? "productpage" : "unknown");
        l.put("source_canonical_revision", source ? "v1" : "unknown");
        l.put("source_cluster", source ? "Kubernetes" : "unknown");
        l.put("destination_workload", destination ? "echo-v1" : "unknown");
        l.put("destination_workload_namespace", destination ? "default" : "unknown");
        l.put("destination_principal", SERVER_ID);
        l.put("destination_app", destination ? "echo" : "unknown");
        l.put("destination_version", destination ? "v1" : "unknown");
        // a server sidecar with no service to go by names its own canonical service, in its namespace (Istio's)
        l.put("destination_service", server ? "echo" : SERVICE);
        l.put("destination_service_name", "echo");
        l.put("destination_service_namespace", "default");
        l.put("destination_canonical_service", destination ? "echo" : "unknown");
        l.put("destination_canonical_revision", destination ? "v1" : "unknown");
        l.put("destination_cluster", destination ? "Kubernetes" : "unknown");
        l.put("request_protocol", "tcp");
        l.put("response_flags", "-");
        l.put("connection_security_policy", server ? "mutual_tls" : "unknown");
        return l;
    }

    @Test
    void bothSidesNameThePeerWorkloadAfterTheExchange() throws Exception {
        run(List.of("istio-peer-exchange", "istio"), true);
    }

    /** A client offering only {@code istio}: no exchange, the bytes pass untouched, the peer is unknown. */
    @Test
    void withoutTheExchangeAlpnThePeerIsUnknownAndTheBytesPassUntouched() throws Exception {
        run(List.of("istio"), false);
    }

    private void run(List<String> clientAlpn, boolean exchanged) throws Exception {
        TestCertificates certs = TestCertificates.create(dir);
        TestCertificates.Issued serverCert = certs.issue("echo", SERVER_ID);
        TestCertificates.Issued clientCert = certs.issue("productpage", CLIENT_ID);
        String service = "outbound|9000||" + SERVICE;
        try (EchoServer echo = new EchoServer();
             ProxyFixture server = Bootstraps.tcp("inbound|9000||")
                     .bootstrap("node", IstioStatsHttpTest.node("sidecar~127.0.0.2~echo-v1-1.default~default.svc.cluster.local",
                             "echo-v1-1", "echo-v1", "echo", "v1"))
                     .listenerOption("traffic_direction", "INBOUND")
                     .downstreamTlsContext("common_tls_context: { alpn_protocols: [istio-peer-exchange, istio, h2, "
                             + "http/1.1], tls_certificates: [{ certificate_chain: { filename: \""
                             + serverCert.certificateChain() + "\" }, private_key: { filename: \"" + serverCert.privateKey()
                             + "\" } }], validation_context: { trusted_ca: { filename: \"" + certs.caCertificate()
                             + "\" } } }, require_client_certificate: true")
                     .networkFilter("istio.metadata_exchange", MX)
                     .networkFilter("istio.stats", STATS)
                     .cluster("inbound|9000||", echo.port())
                     .start();
             ProxyFixture client = Bootstraps.tcp(service)
                     .bootstrap("node", IstioStatsHttpTest.node(
                             "sidecar~127.0.0.1~productpage-v1-1.default~default.svc.cluster.local",
                             "productpage-v1-1", "productpage-v1", "productpage", "v1"))
                     .listenerOption("traffic_direction", "OUTBOUND")
                     .networkFilter("istio.stats", STATS)
                     .cluster(service, server.port())
                     .upstreamTlsContext(service, "sni: \"outbound_.9000_._." + SERVICE + "\", common_tls_context: {"
                             + " alpn_protocols: [" + String.join(", ", clientAlpn) + "], tls_certificates: [{"
                             + " certificate_chain: { filename: \"" + clientCert.certificateChain() + "\" },"
                             + " private_key: { filename: \"" + clientCert.privateKey() + "\" } }],"
                             + " validation_context: { trusted_ca: { filename: \"" + certs.caCertificate() + "\" } } }")
                     .clusterOption(service, "filters", "[{ name: istio.metadata_exchange, typed_config: " + MX + " }]")
                     .start()) {
            byte[] hello = "hello through two sidecars\n".getBytes(StandardCharsets.US_ASCII);
            try (Socket app = new Socket(InetAddress.getLoopbackAddress(), client.port())) {
                app.getOutputStream().write(hello);
                app.getOutputStream().flush();
                byte[] back = app.getInputStream().readNBytes(hello.length);
                assertEquals(new String(hello, StandardCharsets.US_ASCII), new String(back, StandardCharsets.US_ASCII),
                        "the app gets its bytes back, without the server sidecar's exchange header");
            }
            Poll.until(() -> IstioStatsTcpTest.closed(client) == 1 && IstioStatsTcpTest.closed(server) == 1,
                    "the connection closed on both sides");
            assertEquals(List.of(new String(hello, StandardCharsets.US_ASCII)), echo.received(),
                    "the echo server got the app's bytes, without the client sidecar's exchange header");

            assertOneConnection(server, labels("destination", exchanged), hello.length);
            assertOneConnection(client, labels("source", exchanged), hello.length);
        }
    }

    /** {@code proxy}'s istio_tcp_* series: one connection with {@code labels} that carried {@code bytes} each way. */
    private static void assertOneConnection(ProxyFixture proxy, Map<String, String> labels, int bytes)
            throws Exception {
        PrometheusText t = IstioStatsHttpTest.scrape(proxy);
        assertEquals(Map.of(labels, 1.0), IstioStatsHttpTest.byLabels(t.samples("istio_tcp_connections_opened_total")));
        assertEquals(Map.of(labels, 1.0), IstioStatsHttpTest.byLabels(t.samples("istio_tcp_connections_closed_total")));
        assertEquals(Map.of(labels, (double) bytes),
                IstioStatsHttpTest.byLabels(t.samples("istio_tcp_received_bytes_total")));
        assertEquals(Map.of(labels, (double) bytes),
                IstioStatsHttpTest.byLabels(t.samples("istio_tcp_sent_bytes_total")));
    }

    /** A TCP echo server on port 0 of 127.0.0.1: each connection's bytes go back as they come, and are recorded. */
    static final class EchoServer implements AutoCloseable {
        private final ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        private final List<ByteArrayOutputStream> connections = new CopyOnWriteArrayList<>();

        EchoServer() throws IOException {
            Thread t = new Thread(this::accept, "echo-" + socket.getLocalPort());
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return socket.getLocalPort();
        }

        /** What each connection received, in order of acceptance. */
        List<String> received() {
            return connections.stream().map(b -> {
                synchronized (b) {
                    return b.toString(StandardCharsets.ISO_8859_1);
                }
            }).toList();
        }

        private void accept() {
            while (!socket.isClosed()) {
                try {
                    Socket s = socket.accept();
                    ByteArrayOutputStream seen = new ByteArrayOutputStream();
                    connections.add(seen);
                    Thread t = new Thread(() -> echo(s, seen), "echo-connection");
                    t.setDaemon(true);
                    t.start();
                } catch (IOException e) {
                    return; // closed
                }
            }
        }

        private static void echo(Socket s, ByteArrayOutputStream seen) {
            try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                byte[] buf = new byte[4096];
                for (int n; (n = in.read(buf)) > 0; ) {
                    synchronized (seen) {
                        seen.write(buf, 0, n);
                    }
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // the proxy closed the connection
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
