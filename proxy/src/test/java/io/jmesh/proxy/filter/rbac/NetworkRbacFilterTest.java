package io.jmesh.proxy.filter.rbac;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.network.tcp.TcpProxyTestAccess;
import io.jmesh.proxy.testing.AccessLogFiles;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestCertificates;

/** {@code envoy.filters.network.rbac} before tcp_proxy, with real sockets: allow, deny (closed), shadow, errors. */
class NetworkRbacFilterTest {

    static final String RBAC = "envoy.filters.network.rbac";

    private ServerSocket echo;

    static String rbac(String fields) {
        return Bootstraps.typed("envoy.extensions.filters.network.rbac.v3.RBAC", fields);
    }

    @BeforeEach
    void startEcho() throws Exception {
        echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        TcpProxyTestAccess.echo(echo);
    }

    @AfterEach
    void stopEcho() throws Exception {
        echo.close();
    }

    private ProxyFixture proxy(String rbacFields) throws Exception {
        return Bootstraps.tcp("echo").networkFilter(RBAC, rbac(rbacFields)).cluster("echo", echo.getLocalPort()).start(2);
    }

    /** Sends {@code hello} and returns what comes back before the proxy closes, at most 5 bytes. */
    private static String exchange(int port) throws Exception {
        try (Socket c = new Socket("127.0.0.1", port)) {
            c.setSoTimeout(10_000);
            c.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
            InputStream in = c.getInputStream();
            try {
                return new String(in.readNBytes(5), StandardCharsets.US_ASCII);
            } catch (SocketException reset) {
                return "";
            }
        }
    }

    @Test
    void allowedConnectionIsRelayed() throws Exception {
        try (ProxyFixture proxy = proxy("stat_prefix: tcp., rules: { action: ALLOW, policies: { local: {"
                + " permissions: [{ any: true }], principals: [{ direct_remote_ip: { address_prefix: 127.0.0.0,"
                + " prefix_len: 8 } }] } } }")) {
            assertEquals("hello", exchange(proxy.port()));
            assertEquals(1, proxy.counter("tcp.rbac.allowed"));
            assertEquals(0, proxy.counter("tcp.rbac.denied"));
        }
    }

    @Test
    void deniedConnectionIsClosedBeforeTheUpstreamSeesAByte() throws Exception {
        try (ProxyFixture proxy = proxy("stat_prefix: tcp., rules: { action: DENY, policies: { \"no-loopback\": {"
                + " permissions: [{ destination_port_range: { start: 1, end: 65536 } }], principals: [{ remote_ip:"
                + " { address_prefix: 127.0.0.1 } }] } } }")) {
            assertEquals("", exchange(proxy.port()), "the proxy closes the connection: nothing is echoed");
            assertEquals(1, proxy.counter("tcp.rbac.denied"));
            assertEquals(0, proxy.counter("tcp.rbac.allowed"));
        }
    }

    @Test
    void aDeniedConnectionsAccessLogSaysWhichPolicyDeniedIt(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("tcp.log");
        try (ProxyFixture proxy = Bootstraps.tcp("echo")
                .networkFilter(RBAC, rbac("stat_prefix: tcp., rules: { action: DENY, policies: {"
                        + " \"ns[foo]-policy[deny-loopback]-rule[0]\": { permissions: [{ any: true }],"
                        + " principals: [{ remote_ip: { address_prefix: 127.0.0.1 } }] } } }"))
                .accessLog(log, "%CONNECTION_TERMINATION_DETAILS%")
                .cluster("echo", echo.getLocalPort()).start(2)) {
            assertEquals("", exchange(proxy.port()), "the proxy closes the connection: nothing is echoed");
            assertEquals(List.of("rbac_access_denied_matched_policy[ns[foo]-policy[deny-loopback]-rule[0]]"),
                    AccessLogFiles.awaitLines(log, 1));
        }
    }

    @Test
    void shadowRulesOnlyCount() throws Exception {
        try (ProxyFixture proxy = proxy("stat_prefix: tcp., shadow_rules_stat_prefix: istio_dry_run_allow_,"
                + " shadow_rules: { action: ALLOW, policies: { remote: { permissions: [{ any: true }],"
                + " principals: [{ not_id: { direct_remote_ip: { address_prefix: 127.0.0.0, prefix_len: 8 } } }] } } }")) {
            assertEquals("hello", exchange(proxy.port()));
            assertEquals(1, proxy.counter("tcp.rbac.istio_dry_run_allow_shadow_denied"));
            assertEquals(0, proxy.counter("tcp.rbac.istio_dry_run_allow_shadow_allowed"));
        }
    }

    /** A client TLS context presenting {@code client}'s certificate and trusting {@code ca}. */
    private static javax.net.ssl.SSLContext clientTls(TestCertificates ca, TestCertificates.Issued client)
            throws Exception {
        java.security.KeyStore keys = java.security.KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("client", client.key(), new char[0], new java.security.cert.Certificate[] {client.certificate()});
        javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(
                javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, new char[0]);
        java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", ca.caX509());
        javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(
                javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        javax.net.ssl.SSLContext tls = javax.net.ssl.SSLContext.getInstance("TLS");
        tls.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return tls;
    }

    private static String exchangeTls(javax.net.ssl.SSLContext tls, int port) throws Exception {
        try (javax.net.ssl.SSLSocket c = (javax.net.ssl.SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", port)) {
            c.setSoTimeout(10_000);
            c.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
            try {
                return new String(c.getInputStream().readNBytes(5), StandardCharsets.US_ASCII);
            } catch (SocketException | javax.net.ssl.SSLException closed) {
                return "";
            }
        }
    }

    @Test
    void principalsComeFromTheClientCertificateOfAMutualTlsConnection(@TempDir Path dir) throws Exception {
        TestCertificates ca = TestCertificates.create(dir);
        TestCertificates.Issued server = ca.issue("server", "spiffe://cluster.local/ns/default/sa/server");
        TestCertificates.Issued sleep = ca.issue("sleep", "spiffe://cluster.local/ns/default/sa/sleep");
        TestCertificates.Issued other = ca.issue("other", "spiffe://cluster.local/ns/other/sa/curl");
        try (ProxyFixture proxy = Bootstraps.tcp("echo")
                .downstreamTlsContext("require_client_certificate: true, common_tls_context: { tls_certificates: [{"
                        + " certificate_chain: { filename: \"" + server.certificateChain() + "\" }, private_key: {"
                        + " filename: \"" + server.privateKey() + "\" } }], validation_context: { trusted_ca: {"
                        + " filename: \"" + ca.caCertificate() + "\" } } }")
                .networkFilter(RBAC, rbac("stat_prefix: tcp., rules: { action: ALLOW, policies: {"
                        + " \"ns[default]-policy[sleep]-rule[0]\": { permissions: [{ any: true }], principals: [{"
                        + " authenticated: { principal_name: { safe_regex: { regex: \".*/ns/default/.*\" } } } }] } } }"))
                .cluster("echo", echo.getLocalPort())
                .start(2)) {
            assertEquals("hello", exchangeTls(clientTls(ca, sleep), proxy.port()));
            assertEquals("", exchangeTls(clientTls(ca, other), proxy.port()), "another namespace: closed");
            assertEquals(1, proxy.counter("tcp.rbac.allowed"));
            assertEquals(1, proxy.counter("tcp.rbac.denied"));
        }
    }

    @Test
    void badConfigNamesTheField() {
        ConfigException noPrefix = assertThrows(ConfigException.class, () -> proxy("rules: { action: ALLOW }").close());
        assertTrue(noPrefix.getMessage().endsWith("typed_config.stat_prefix: \"\" (expected: a non-empty prefix)"),
                noPrefix.getMessage());
        ConfigException cidr = assertThrows(ConfigException.class, () -> proxy("stat_prefix: t., rules: { policies:"
                + " { p: { permissions: [{ any: true }], principals: [{ remote_ip: { address_prefix: 10.0.0.0,"
                + " prefix_len: 33 } }] } } }").close());
        assertTrue(cidr.getMessage().endsWith("typed_config.rules.policies[\"p\"].principals[0].remote_ip.prefix_len: 33"
                + " (expected: <= 32)"), cidr.getMessage());
    }
}
