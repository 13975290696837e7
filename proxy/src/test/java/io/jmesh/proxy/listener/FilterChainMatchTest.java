package io.jmesh.proxy.listener;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.testing.TestCertificates;

/**
 * One listener, several filter chains chosen as Envoy chooses them: by SNI (exact before wildcard), by
 * transport protocol (TLS or plaintext on the same port), and the default chain when nothing matches.
 */
class FilterChainMatchTest {

    /** One filter chain as JSON (a subset of YAML, so the bootstrap loader reads it). */
    static String chain(String match, String tls, String cluster) {
        return "{\"filter_chain_match\": " + match + (tls.isEmpty() ? "" : ", \"transport_socket\": " + tls)
                + ", \"filters\": [{\"name\": \"envoy.filters.network.http_connection_manager\", \"typed_config\": {"
                + "\"@type\": \"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager\","
                + "\"stat_prefix\": \"" + cluster + "\", \"http_filters\": [{\"name\": \"envoy.filters.http.router\"}],"
                + "\"route_config\": {\"virtual_hosts\": [{\"name\": \"all\", \"domains\": [\"*\"],"
                + "\"routes\": [{\"match\": {\"prefix\": \"/\"}, \"route\": {\"cluster\": \"" + cluster + "\"}}]}]}}}]}";
    }

    static String tls(String cert, String key) {
        return "{\"name\": \"envoy.transport_sockets.tls\", \"typed_config\": {"
                + "\"@type\": \"type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext\","
                + "\"common_tls_context\": {\"alpn_protocols\": [\"h2\", \"http/1.1\"], \"tls_certificates\": [{"
                + "\"certificate_chain\": {\"filename\": \"" + cert + "\"}, \"private_key\": {\"filename\": \"" + key + "\"}}]}}}";
    }

    static String cluster(String name, int port) {
        return "{\"name\": \"" + name + "\", \"connect_timeout\": \"1s\", \"type\": \"STATIC\", \"load_assignment\": {"
                + "\"cluster_name\": \"" + name + "\", \"endpoints\": [{\"lb_endpoints\": [{\"endpoint\": {\"address\": "
                + "{\"socket_address\": {\"address\": \"127.0.0.1\", \"port_value\": " + port + "}}}}]}]}}";
    }

    @Test
    void chainsChosenBySniTransportAndDefault(@TempDir Path dir) throws Exception {
        TestCertificates ca = TestCertificates.create(dir);
        TestCertificates.Issued a = ca.issue("a", null, List.of("a.mesh.example"));
        TestCertificates.Issued wild = ca.issue("wild", null, List.of("*.mesh.example"));
        try (TestBackend ba = TestBackend.start("exact-a");
             TestBackend bw = TestBackend.start("wildcard");
             TestBackend bp = TestBackend.start("plaintext")) {
            String yaml = "{\"static_resources\": {\"listeners\": [{\"name\": \"multi\","
                    + "\"address\": {\"socket_address\": {\"address\": \"127.0.0.1\", \"port_value\": 0}},"
                    + "\"filter_chains\": ["
                    + chain("{\"server_names\": [\"*.mesh.example\"], \"transport_protocol\": \"tls\"}",
                            tls(wild.certificateChain().toString(), wild.privateKey().toString()), "wildcard") + ","
                    + chain("{\"server_names\": [\"a.mesh.example\"], \"transport_protocol\": \"tls\"}",
                            tls(a.certificateChain().toString(), a.privateKey().toString()), "exact_a") + ","
                    + chain("{\"transport_protocol\": \"raw_buffer\"}", "", "plaintext")
                    + "]}], \"clusters\": [" + cluster("exact_a", ba.port()) + "," + cluster("wildcard", bw.port()) + ","
                    + cluster("plaintext", bp.port()) + "]}}";
            try (ProxyFixture proxy = ProxyFixture.start(yaml, Map.of())) {
                int port = proxy.port();
                String caFile = ca.caCertificate().toString();
                Curl.Result exact = Curl.run("--resolve", "a.mesh.example:" + port + ":127.0.0.1", "--cacert", caFile,
                        "https://a.mesh.example:" + port + "/x");
                assertEquals(200, exact.status, exact.toString());
                assertTrue(exact.body.contains("backend=exact-a"), exact.body);
                Curl.Result other = Curl.run("--http2", "--resolve", "b.mesh.example:" + port + ":127.0.0.1", "--cacert", caFile,
                        "https://b.mesh.example:" + port + "/y");
                assertEquals(200, other.status, other.toString());
                assertEquals("HTTP/2", other.httpVersion);
                assertTrue(other.body.contains("backend=wildcard"), other.body);
                Curl.Result plain = Curl.run("http://127.0.0.1:" + port + "/z");
                assertEquals(200, plain.status, plain.toString());
                assertTrue(plain.body.contains("backend=plaintext"), plain.body);
                Curl.Result noSni = Curl.run("-k", "https://127.0.0.1:" + port + "/none");
                assertTrue(noSni.exitCode != 0, "TLS without a matching SNI and no default chain is closed: " + noSni);
            }
        }
    }
}
