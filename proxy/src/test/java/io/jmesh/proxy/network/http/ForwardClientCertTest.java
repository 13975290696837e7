package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.testing.TestCertificates;

/**
 * The HCM's {@code forward_client_cert_details}: the {@code x-forwarded-client-cert} header that the backend sees,
 * with curl as the client over mutual TLS (client certificate with a SPIFFE URI SAN) or plain TLS, as Istio's
 * inbound sidecar sets it ({@code APPEND_FORWARD} with subject, URI and DNS). Subjects print in RFC 2253 order
 * (last RDN first), as Envoy prints them.
 */
class ForwardClientCertTest {

    private static final String CLIENT_ID = "spiffe://cluster.local/ns/default/sa/client";
    private static final String SERVER_ID = "spiffe://cluster.local/ns/default/sa/server";

    @TempDir
    Path dir;

    private TestBackend backend;
    private TestCertificates ca;
    private TestCertificates.Issued server;
    private TestCertificates.Issued client;
    private ProxyFixture proxy;

    @BeforeEach
    void setUp() throws Exception {
        backend = TestBackend.start("backend");
        ca = TestCertificates.create(dir.resolve("ca"));
        server = ca.issue("server", SERVER_ID);
        client = ca.issue("client", CLIENT_ID);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        backend.close();
    }

    private void start(String hcmFields, boolean requireClientCertificate) throws Exception {
        Bootstraps b = Bootstraps.http().listener("inbound").statPrefix("inbound")
                .downstreamTlsContext((requireClientCertificate ? "require_client_certificate: true, " : "")
                        + "common_tls_context: { tls_certificates: [{ certificate_chain: { filename: \""
                        + server.certificateChain() + "\" }, private_key: { filename: \"" + server.privateKey()
                        + "\" } }], validation_context: { trusted_ca: { filename: \"" + ca.caCertificate() + "\" } } }")
                .route("/", "backend").cluster("backend", backend.port());
        for (String field : hcmFields.split(";")) {
            if (!field.isBlank()) {
                String[] kv = field.split("=", 2);
                b.hcm(kv[0].trim(), kv[1].trim());
            }
        }
        proxy = b.start();
    }

    private Curl.Result get(boolean withClientCertificate, String... extra) throws Exception {
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("--cacert", ca.caCertificate().toString()));
        if (withClientCertificate) {
            args.addAll(java.util.List.of("--cert", client.certificateChain().toString(), "--key",
                    client.privateKey().toString()));
        }
        args.addAll(java.util.List.of(extra));
        args.add("https://localhost:" + proxy.port("inbound") + "/");
        return Curl.run(args.toArray(new String[0]));
    }

    private static String xfcc(Curl.Result r) {
        for (String line : r.body.split("\n")) {
            if (line.startsWith("header x-forwarded-client-cert=")) {
                return line.substring("header x-forwarded-client-cert=".length());
            }
        }
        return null;
    }

    private String hash() throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(client.certificate().getEncoded()));
    }

    @Test
    void appendForwardAsIstiosInboundSidecar() throws Exception {
        start("forward_client_cert_details=APPEND_FORWARD;"
                + "set_current_client_cert_details={ subject: true, uri: true, dns: true }", true);
        Curl.Result r = get(true, "-H", "x-forwarded-client-cert: By=spiffe://cluster.local/ns/a/sa/gw;Hash=00");
        assertEquals(200, r.status, r.toString());
        assertEquals("By=spiffe://cluster.local/ns/a/sa/gw;Hash=00,By=" + SERVER_ID + ";Hash=" + hash()
                + ";Subject=\"O=jmesh,CN=client\";URI=" + CLIENT_ID + ";DNS=localhost", xfcc(r));
    }

    @Test
    void sanitizeSetReplacesAndCertIsUrlEncodedPem() throws Exception {
        start("forward_client_cert_details=SANITIZE_SET;set_current_client_cert_details={ cert: true, uri: true }", true);
        Curl.Result r = get(true, "-H", "x-forwarded-client-cert: By=forged");
        assertEquals(200, r.status, r.toString());
        String v = xfcc(r);
        assertTrue(v.startsWith("By=" + SERVER_ID + ";Hash=" + hash() + ";Cert=\"-----BEGIN%20CERTIFICATE-----%0A"), v);
        assertTrue(v.endsWith("-----END%20CERTIFICATE-----%0A\";URI=" + CLIENT_ID), v);
        assertFalse(v.contains("forged"), v);
    }

    @Test
    void withoutAClientCertificateTheHeaderIsRemoved() throws Exception {
        start("forward_client_cert_details=APPEND_FORWARD;set_current_client_cert_details={ uri: true }", false);
        Curl.Result r = get(false, "-H", "x-forwarded-client-cert: By=forged;URI=spiffe://evil");
        assertEquals(200, r.status, r.toString());
        assertEquals(null, xfcc(r), r.body);
    }

    @Test
    void sanitizeByDefaultAndAlwaysForwardOnly() throws Exception {
        start("", true);
        Curl.Result sanitized = get(true, "-H", "x-forwarded-client-cert: By=forged");
        assertEquals(200, sanitized.status, sanitized.toString());
        assertEquals(null, xfcc(sanitized), sanitized.body);
        proxy.close();
        start("forward_client_cert_details=ALWAYS_FORWARD_ONLY", false);
        Curl.Result forwarded = get(false, "-H", "x-forwarded-client-cert: By=upstream-of-us");
        assertEquals("By=upstream-of-us", xfcc(forwarded));
    }
}
