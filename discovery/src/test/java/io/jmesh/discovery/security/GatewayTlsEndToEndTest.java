package io.jmesh.discovery.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.testing.TestCertificates;
import io.jmesh.proxy.xds.ListenerBinding;

/**
 * End to end: an ingress gateway (a jmesh proxy with node type {@code router}) following {@code jmesh discovery}
 * terminates TLS with a {@code credentialName} certificate that discovery reads from its credentials directory
 * ({@code <dir>/default/bookinfo-cred/tls.crt, tls.key, ca.crt}) and serves over SDS on ADS; curl is the client.
 * SIMPLE answers 200 with that certificate, MUTUAL wants a client certificate signed by {@code ca.crt}, the
 * plaintext server with {@code httpsRedirect} answers 301, and a new certificate in the directory is served
 * without a restart.
 */
class GatewayTlsEndToEndTest {

    private static final String NODE = "router~127.0.0.71~ingress-1.default~default.svc.cluster.local";
    private static final String HOST = "bookinfo.example.com";

    @TempDir
    Path dir;

    private MeshTlsFixture mesh;
    private TestCertificates serverCa;
    private TestCertificates clientCa;
    private Path credential;
    private ProxyServer gateway;

    @BeforeEach
    void start() throws Exception {
        mesh = new MeshTlsFixture(dir);
        TestBackend backend = mesh.closeLater(TestBackend.start("productpage"));
        serverCa = TestCertificates.create(dir.resolve("server-ca"));
        clientCa = TestCertificates.create(dir.resolve("client-ca"));
        credential = Files.createDirectories(dir.resolve("credentials/default/bookinfo-cred"));
        writeServerCertificate("gateway-1");
        Files.writeString(credential.resolve("ca.crt"), clientCa.caPem());
        mesh.write("gateway.yaml", """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: productpage, namespace: default}
                spec:
                  hosts: [productpage.default.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 9080, name: http, protocol: HTTP}]
                  endpoints: [{address: 127.0.0.1, ports: {http: %1$d}}]
                ---
                apiVersion: networking.istio.io/v1
                kind: Gateway
                metadata: {name: bookinfo-gateway, namespace: default}
                spec:
                  selector: {istio: ingressgateway}
                  servers:
                  - port: {number: 8443, name: https, protocol: HTTPS}
                    hosts: [%2$s]
                    tls: {mode: SIMPLE, credentialName: bookinfo-cred, minProtocolVersion: TLSV1_2}
                  - port: {number: 9443, name: https-mutual, protocol: HTTPS}
                    hosts: [%2$s]
                    tls: {mode: MUTUAL, credentialName: bookinfo-cred}
                  - port: {number: 8080, name: http, protocol: HTTP}
                    hosts: [%2$s]
                    tls: {httpsRedirect: true}
                ---
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: bookinfo, namespace: default}
                spec:
                  hosts: [%2$s]
                  gateways: [bookinfo-gateway]
                  http:
                  - route: [{destination: {host: productpage, port: {number: 9080}}}]
                """.formatted(backend.port(), HOST));
        mesh.startDiscovery(dir.resolve("credentials"));
        gateway = mesh.proxy(NODE, Map.of("istio", "ingressgateway"), "ingress",
                new ListenerBinding("127.0.0.1", Map.of(8443, 0, 9443, 0, 8080, 0)));
    }

    @AfterEach
    void stop() throws Exception {
        mesh.close();
    }

    private void writeServerCertificate(String name) throws Exception {
        TestCertificates.Issued cert = serverCa.issue(name, null, List.of(HOST));
        Files.writeString(credential.resolve(".tls.crt"), Files.readString(cert.certificateChain()));
        Files.writeString(credential.resolve(".tls.key"), Files.readString(cert.privateKey()));
        Files.move(credential.resolve(".tls.key"), credential.resolve("tls.key"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        Files.move(credential.resolve(".tls.crt"), credential.resolve("tls.crt"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private int port(int gatewayPort) {
        InetSocketAddress a = gateway.listenerAddresses().get("0.0.0.0_" + gatewayPort);
        return a == null ? 0 : a.getPort();
    }

    private Curl.Result https(int gatewayPort, String... extra) throws Exception {
        int p = port(gatewayPort);
        List<String> args = new java.util.ArrayList<>(List.of("--http1.1", "-v", "--cacert",
                serverCa.caCertificate().toString(), "--resolve", HOST + ":" + p + ":127.0.0.1"));
        args.addAll(List.of(extra));
        args.add("https://" + HOST + ":" + p + "/productpage");
        return Curl.run(args.toArray(new String[0]));
    }

    private int status(int gatewayPort, String... extra) {
        try {
            return port(gatewayPort) == 0 ? 0 : https(gatewayPort, extra).status;
        } catch (Exception e) {
            return -1;
        }
    }

    @Test
    void simpleServesTheCredentialsCertificate() throws Exception {
        Poll.until(() -> status(8443) == 200, "the SIMPLE server answers with the bookinfo-cred certificate");
        Curl.Result r = https(8443);
        assertTrue(r.stderr.contains("CN=gateway-1"), r.stderr);
    }

    @Test
    void mutualRequiresAClientCertificateFromTheCredentialsCa() throws Exception {
        TestCertificates.Issued client = clientCa.issue("curl", null);
        Poll.until(() -> status(9443, "--cert", client.certificateChain().toString(), "--key",
                client.privateKey().toString()) == 200, "the MUTUAL server accepts a client certificate of ca.crt");
        Curl.Result anonymous = https(9443);
        assertNotEquals(200, anonymous.status, anonymous.toString());
        TestCertificates.Issued stranger = serverCa.issue("stranger", null);
        Curl.Result wrongCa = https(9443, "--cert", stranger.certificateChain().toString(), "--key",
                stranger.privateKey().toString());
        assertNotEquals(200, wrongCa.status, wrongCa.toString());
    }

    @Test
    void httpsRedirectAnswers301() throws Exception {
        Poll.until(() -> port(8080) != 0, "the plaintext server's listener");
        Poll.until(() -> {
            try {
                return Curl.run("-H", "Host: " + HOST, "http://127.0.0.1:" + port(8080) + "/productpage").status == 301;
            } catch (Exception e) {
                return false;
            }
        }, "301 from the httpsRedirect server");
        Curl.Result r = Curl.run("-H", "Host: " + HOST, "http://127.0.0.1:" + port(8080) + "/productpage");
        assertEquals(301, r.status, r.toString());
        assertTrue(r.header("location").startsWith("https://" + HOST), r.toString());
        assertTrue(r.header("location").endsWith("/productpage"), r.toString());
    }

    @Test
    void aNewCertificateInTheDirectoryIsServedWithoutRestart() throws Exception {
        Poll.until(() -> status(8443) == 200, "the SIMPLE server");
        writeServerCertificate("gateway-2");
        Poll.until(() -> {
            try {
                return https(8443).stderr.contains("CN=gateway-2");
            } catch (Exception e) {
                return false;
            }
        }, "the rotated certificate served");
        assertEquals(200, https(8443).status);
    }
}
