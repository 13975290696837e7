package io.jmesh.cli;

import static io.jmesh.cli.JmeshProcess.await;
import static io.jmesh.cli.JmeshProcess.jmesh;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.jmesh.security.ca.Pem;

/**
 * {@code jmesh discovery --webhook-port 0} as a process: the webhooks answer real AdmissionReviews over TLS with a
 * certificate from discovery's CA, verified against the CA's root-cert.pem.
 */
class DiscoveryWebhookTest {

    private static final String POD_REVIEW = """
            {"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{
              "uid":"3b0b8a5e-7c35-4d7a-9b0e-0c2f1d9a1b21",
              "kind":{"group":"","version":"v1","kind":"Pod"},
              "resource":{"group":"","version":"v1","resource":"pods"},
              "namespace":"default","operation":"CREATE","userInfo":{"username":"kubernetes-admin"},
              "object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"ratings","namespace":"default",
                "labels":{"app":"ratings"}},
                "spec":{"containers":[{"name":"ratings","image":"docker.io/istio/examples-bookinfo-ratings-v1:1.20.2",
                  "ports":[{"containerPort":9080}]}],"serviceAccountName":"bookinfo-ratings"}},
              "oldObject":null,"dryRun":false}}
            """;

    private static final String VS_REVIEW = """
            {"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{
              "uid":"5a1d0c0e-2d8c-4f8f-8a57-0b1b2c3d4e5f",
              "kind":{"group":"networking.istio.io","version":"v1","kind":"VirtualService"},
              "resource":{"group":"networking.istio.io","version":"v1","resource":"virtualservices"},
              "namespace":"default","operation":"CREATE","userInfo":{"username":"kubernetes-admin"},
              "object":{"apiVersion":"networking.istio.io/v1","kind":"VirtualService",
                "metadata":{"name":"ratings","namespace":"default"},
                "spec":{"hosts":["ratings"],"http":[{"route":[{"destination":{"host":"ratings"},"weight":-1}]}]}},
              "oldObject":null,"dryRun":false}}
            """;

    @Test
    void discoveryServesTheWebhooksWithACertificateFromItsCa(@TempDir Path dir) throws Exception {
        Path config = Files.createDirectory(dir.resolve("config"));
        Path caDir = Files.createDirectory(dir.resolve("ca"));
        Process discovery = jmesh("discovery", "--config-dir", config.toString(), "--grpc-addr", "127.0.0.1:0",
                "--secure-grpc-addr", "127.0.0.1:0", "--monitoring-addr", "127.0.0.1:0", "--ca-dir",
                caDir.toString(), "--webhook-port", "0");
        try {
            BufferedReader r = new BufferedReader(new InputStreamReader(discovery.getInputStream(),
                    StandardCharsets.UTF_8));
            String address = await(r, Pattern.compile("webhooks /inject and /validate on https://(127\\.0\\.0\\.1:\\d+)"),
                    new StringBuilder());
            KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
            trust.load(null, null);
            int i = 0;
            for (X509Certificate c : Pem.certificates(Files.readString(caDir.resolve("root-cert.pem")))) {
                trust.setCertificateEntry("root-" + i++, c);
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            HttpClient client = HttpClient.newBuilder().sslContext(ctx).build();
            ObjectMapper json = new ObjectMapper();

            JsonNode injected = json.readTree(client.send(HttpRequest.newBuilder(URI.create("https://" + address
                    + "/inject")).POST(HttpRequest.BodyPublishers.ofString(POD_REVIEW)).build(),
                    HttpResponse.BodyHandlers.ofString()).body()).get("response");
            assertEquals("3b0b8a5e-7c35-4d7a-9b0e-0c2f1d9a1b21", injected.get("uid").asText());
            assertTrue(injected.get("allowed").asBoolean());
            String patch = new String(Base64.getDecoder().decode(injected.get("patch").asText()), StandardCharsets.UTF_8);
            assertTrue(patch.contains("\"name\":\"istio-proxy\""), patch);
            assertTrue(patch.contains("\"name\":\"istio-init\""), patch);

            JsonNode validated = json.readTree(client.send(HttpRequest.newBuilder(URI.create("https://" + address
                    + "/validate")).POST(HttpRequest.BodyPublishers.ofString(VS_REVIEW)).build(),
                    HttpResponse.BodyHandlers.ofString()).body()).get("response");
            assertFalse(validated.get("allowed").asBoolean());
            assertTrue(validated.at("/status/message").asText().startsWith("configuration is invalid: spec.http[0]"),
                    validated.toString());
            discovery.destroy();
            assertTrue(discovery.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, discovery.exitValue());
        } finally {
            discovery.destroyForcibly();
        }
    }

    @Test
    void aWebhookWithoutCertificateIsRefused(@TempDir Path dir) {
        CliRun r = CliRun.jmesh("discovery", "--config-dir", dir.toString(), "--secure-grpc-addr", "off",
                "--webhook-port", "0");
        assertEquals(2, r.exit());
        assertEquals("error: --webhook-port: 0 (expected: -1 to 65535, with --webhook-cert and --webhook-key together, "
                + "or the CA on (--secure-grpc-addr) to issue the webhooks' certificate)\n", r.err());
    }
}
