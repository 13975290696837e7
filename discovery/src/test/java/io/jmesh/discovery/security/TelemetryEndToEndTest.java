package io.jmesh.discovery.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.server.ProxyServer;
import io.jmesh.proxy.testing.AccessLogFiles;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.PrometheusText;
import io.jmesh.proxy.testing.TestBackend;
import io.jmesh.proxy.xds.ListenerBinding;

/**
 * The Telemetry API end to end: {@code jmesh discovery} with a mesh-wide Telemetry and MeshConfig
 * {@code extensionProviders}, and a real sidecar following it in front of a real HTTP backend; requests by curl.
 * <ul>
 *   <li>{@code accessLogging} with the {@code envoyFileAccessLog} provider and {@code filter.expression:
 *       response.code >= 400}: the file holds the failing requests only, in the provider's format;</li>
 *   <li>a {@code metrics} override removing {@code request_protocol} from {@code REQUEST_COUNT}: the label is gone
 *       from {@code istio_requests_total} on {@code /stats/prometheus} and still on the other metrics;</li>
 *   <li>{@code tracing} with a {@code zipkin} provider: the sidecar accepts the HTTP connection manager's
 *       {@code tracing} (it shows in {@code /config_dump}).</li>
 * </ul>
 * The sidecar uses the mesh fixture of the mutual TLS tests; mTLS is disabled here.
 */
class TelemetryEndToEndTest {

    private static final String WORKLOAD_IP = "127.0.0.71";
    private static final String NODE = "sidecar~" + WORKLOAD_IP + "~reviews-v1-1.default~default.svc.cluster.local";

    @TempDir
    Path dir;

    private MeshTlsFixture mesh;
    private TestBackend backend;
    private ProxyServer sidecar;
    private Path errorsLog;

    @BeforeEach
    void start() throws Exception {
        mesh = new MeshTlsFixture(dir);
        backend = mesh.closeLater(TestBackend.start("reviews"));
        mesh.write("services.yaml", MeshTlsFixture.reviews(WORKLOAD_IP, backend.port()) + MeshTlsFixture.MTLS_DISABLED + """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: {name: zipkin, namespace: istio-system}
                spec:
                  hosts: [zipkin.istio-system.svc.cluster.local]
                  location: MESH_INTERNAL
                  resolution: STATIC
                  ports: [{number: 9411, name: http-zipkin, protocol: HTTP}]
                  endpoints: [{address: 127.0.0.1}]
                """);
        mesh.write("telemetry.yaml", """
                apiVersion: telemetry.istio.io/v1
                kind: Telemetry
                metadata: {name: mesh-default, namespace: istio-system}
                spec:
                  tracing:
                  - providers: [{name: zipkin}]
                    randomSamplingPercentage: 50
                  accessLogging:
                  - providers: [{name: errors}]
                    filter: {expression: "response.code >= 400"}
                  metrics:
                  - overrides:
                    - match: {metric: REQUEST_COUNT}
                      tagOverrides: {request_protocol: {operation: REMOVE}}
                """);
        errorsLog = dir.resolve("errors.log");
        mesh.startDiscovery(null, """
                extensionProviders:
                - name: errors
                  envoyFileAccessLog:
                    path: %s
                    logFormat: {text: "%%REQ(:PATH)%% %%RESPONSE_CODE%%"}
                - name: zipkin
                  zipkin: {service: zipkin.istio-system.svc.cluster.local, port: 9411}
                """.formatted(errorsLog));
        sidecar = mesh.proxy(NODE, Map.of("app", "reviews"), "reviews",
                new ListenerBinding("127.0.0.1", Map.of(), WORKLOAD_IP));
    }

    @AfterEach
    void stop() throws Exception {
        mesh.close();
    }

    private String url(String path) {
        return "http://" + WORKLOAD_IP + ":" + backend.port() + path;
    }

    private int status(String path) {
        try {
            return Curl.run("--http1.1", url(path)).status;
        } catch (Exception e) {
            return -1;
        }
    }

    private String admin(String path) throws Exception {
        return MeshTlsFixture.admin(sidecar, path);
    }

    private String scrape() {
        try {
            return admin("/stats/prometheus");
        } catch (Exception | AssertionError e) {
            return "";
        }
    }

    @Test
    void accessLogFilterMetricOverrideAndTracingReachTheSidecar() throws Exception {
        Poll.until(() -> status("/ready") == 200, "the sidecar's inbound listener serves");
        assertEquals(503, status("/status/503"));
        assertEquals(200, status("/fine"));
        assertEquals(404, status("/status/404"));

        assertEquals(List.of("/status/503 503", "/status/404 404"), AccessLogFiles.awaitLines(errorsLog, 2));

        Poll.until(() -> scrape().contains("response_code=\"404\""), "the 404 is counted");
        PrometheusText text = PrometheusText.parse(admin("/stats/prometheus"));
        List<PrometheusText.Sample> requests = text.samples("istio_requests_total");
        assertFalse(requests.isEmpty(), "istio_requests_total is exported");
        for (PrometheusText.Sample s : requests) {
            assertFalse(s.labels().containsKey("request_protocol"), s.toString());
        }
        assertEquals(1.0, requests.stream().filter(s -> "503".equals(s.labels().get("response_code")))
                .mapToDouble(PrometheusText.Sample::value).sum());
        for (PrometheusText.Sample s : text.samples("istio_request_bytes_count")) {
            assertEquals("http", s.labels().get("request_protocol"), s.toString());
        }

        String dump = admin("/config_dump");
        assertTrue(dump.contains("envoy.tracers.zipkin")
                && dump.contains("outbound|9411||zipkin.istio-system.svc.cluster.local"), "tracing in config_dump");
    }
}
