package io.jmesh.proxy.telemetry.tracing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/**
 * The trace decision as Envoy makes it, seen in the headers a real backend receives through the proxy: the
 * {@code x-request-id} mark, {@code random_sampling}, {@code overall_sampling}, {@code x-envoy-force-trace},
 * {@code x-client-trace-id}, the caller's sampling flag, and the config errors of {@code tracing}.
 */
class TracingSamplingTest {

    /**
     * Makes a request internal to a connection manager without {@code use_remote_address}: a single internal address
     * in {@code x-forwarded-for}, as Envoy requires before it honours {@code x-envoy-force-trace}.
     */
    static final String INTERNAL_CLIENT = "x-forwarded-for: 10.1.2.3";

    TestBackend backend;
    ProxyFixture proxy;

    @BeforeEach
    void startBackend() throws Exception {
        backend = TestBackend.start("backend");
    }

    @AfterEach
    void stop() {
        if (proxy != null) {
            proxy.close();
        }
        backend.close();
    }

    static String zipkin(String hcmFields) {
        return ZipkinTracingTest.zipkinTracing("", hcmFields);
    }

    Bootstraps mesh(String tracing) {
        Bootstraps b = Bootstraps.http().route("/", "backend").cluster("backend", backend.port()).cluster("zipkin");
        return tracing == null ? b : b.hcm("tracing", tracing);
    }

    Map<String, String> get(String... curlArgs) throws Exception {
        String[] args = new String[curlArgs.length + 1];
        System.arraycopy(curlArgs, 0, args, 0, curlArgs.length);
        args[curlArgs.length] = "http://127.0.0.1:" + proxy.port() + "/";
        return ZipkinTracingTest.seenHeaders(Curl.run(args));
    }

    @Test
    void randomSamplingZeroLeavesTheRequestUntracedAndSaysSo() throws Exception {
        proxy = mesh(zipkin("random_sampling: { value: 0 },")).start();
        Map<String, String> seen = get();
        assertEquals('4', seen.get("x-request-id").charAt(14), seen.toString());
        assertEquals("0", seen.get("x-b3-sampled"), "the next hop is told not to sample");
        assertTrue(seen.containsKey("x-b3-traceid"));
    }

    @Test
    void forcedTraceAndClientTraceIdAreMarkedInTheRequestId() throws Exception {
        proxy = mesh(zipkin("random_sampling: { value: 0 },")).start();
        Map<String, String> forced = get("-H", "x-envoy-force-trace: true", "-H", INTERNAL_CLIENT);
        assertEquals('a', forced.get("x-request-id").charAt(14), forced.toString());
        assertEquals("1", forced.get("x-b3-sampled"));
        Map<String, String> client = get("-H", "x-client-trace-id: my-trace");
        assertEquals('b', client.get("x-request-id").charAt(14), client.toString());
        assertEquals("1", client.get("x-b3-sampled"));
        get();
        assertEquals(List.of(1L, 1L, 1L, 0L), List.of(proxy.counter("http.ingress.tracing.service_forced"),
                proxy.counter("http.ingress.tracing.client_enabled"), proxy.counter("http.ingress.tracing.not_traceable"),
                proxy.counter("http.ingress.tracing.random_sampling")));
    }

    @Test
    void aForcedTraceReturnsItsRequestIdToTheClient() throws Exception {
        proxy = mesh(zipkin("random_sampling: { value: 0 },")).start();
        Curl.Result r = Curl.run("-H", "x-envoy-force-trace: 1", "-H", INTERNAL_CLIENT,
                "http://127.0.0.1:" + proxy.port() + "/");
        assertEquals(ZipkinTracingTest.seenHeaders(r).get("x-request-id"), r.header("x-request-id"));
        Curl.Result plain = Curl.run("http://127.0.0.1:" + proxy.port() + "/");
        assertEquals(200, plain.status);
        assertEquals(null, plain.header("x-request-id"), "only forced traces and always_set_request_id_in_response");
        proxy.close();
        proxy = mesh(null).hcm("always_set_request_id_in_response", "true").start();
        Curl.Result always = Curl.run("http://127.0.0.1:" + proxy.port() + "/");
        assertEquals(ZipkinTracingTest.seenHeaders(always).get("x-request-id"), always.header("x-request-id"));
    }

    @Test
    void anExternalClientCannotForceATrace() throws Exception {
        proxy = mesh(zipkin("random_sampling: { value: 0 },")).start();
        // without use_remote_address: external unless x-forwarded-for holds one internal address (Envoy's rule)
        for (String[] external : List.of(new String[0], new String[] { "-H", "x-forwarded-for: 203.0.113.7" },
                new String[] { "-H", "x-forwarded-for: 10.1.2.3, 10.4.5.6" })) {
            String[] args = new String[external.length + 2];
            System.arraycopy(external, 0, args, 0, external.length);
            args[external.length] = "-H";
            args[external.length + 1] = "x-envoy-force-trace: true";
            Map<String, String> seen = get(args);
            assertEquals('4', seen.get("x-request-id").charAt(14), seen.toString());
            assertEquals("0", seen.get("x-b3-sampled"), seen.toString());
            assertFalse(seen.containsKey("x-envoy-force-trace"), "sanitized from an external request: " + seen);
        }
        assertEquals(0L, proxy.counter("http.ingress.tracing.service_forced"));
        proxy.close();
        // with use_remote_address, the peer decides: curl on 127.0.0.1 is internal, and so is its forced trace
        proxy = mesh(zipkin("random_sampling: { value: 0 },")).hcm("use_remote_address", "true").start();
        Map<String, String> seen = get("-H", "x-envoy-force-trace: true");
        assertEquals('a', seen.get("x-request-id").charAt(14), seen.toString());
        assertEquals("1", seen.get("x-b3-sampled"));
        proxy.close();
        // internal_address_config.cidr_ranges replaces the default internal set
        proxy = mesh(zipkin("random_sampling: { value: 0 },"))
                .hcm("internal_address_config", "{ cidr_ranges: [ { address_prefix: 203.0.113.0, prefix_len: 24 } ] }")
                .start();
        assertEquals("1", get("-H", "x-envoy-force-trace: true", "-H", "x-forwarded-for: 203.0.113.7")
                .get("x-b3-sampled"));
        assertEquals("0", get("-H", "x-envoy-force-trace: true", "-H", INTERNAL_CLIENT).get("x-b3-sampled"));
    }

    @Test
    void aBadInternalAddressRangeIsRefusedByName() {
        ConfigException e = assertThrows(ConfigException.class, () -> mesh(null)
                .hcm("internal_address_config", "{ cidr_ranges: [ { address_prefix: internal.example, prefix_len: 8 } ] }")
                .start());
        assertTrue(e.getMessage().contains("internal_address_config.cidr_ranges[0].address_prefix: \"internal.example\""),
                e.getMessage());
    }

    @Test
    void aRequestIdMarkedSampledUpstreamIsTracedHereToo() throws Exception {
        proxy = mesh(zipkin("random_sampling: { value: 0 },")).start();
        Map<String, String> seen = get("-H", "x-request-id: 2d6c9c5b-6b8a-9f3e-9c1d-1a2b3c4d5e6f");
        assertEquals("2d6c9c5b-6b8a-9f3e-9c1d-1a2b3c4d5e6f", seen.get("x-request-id"));
        assertEquals("1", seen.get("x-b3-sampled"));
    }

    @Test
    void overallSamplingCapsEvenForcedTraces() throws Exception {
        proxy = mesh(zipkin("overall_sampling: { value: 0 },")).start();
        Map<String, String> seen = get("-H", "x-envoy-force-trace: true", "-H", INTERNAL_CLIENT,
                "-H", "x-request-id: 2d6c9c5b-6b8a-9f3e-9c1d-1a2b3c4d5e6f");
        assertEquals("2d6c9c5b-6b8a-4f3e-9c1d-1a2b3c4d5e6f", seen.get("x-request-id"));
        assertEquals("0", seen.get("x-b3-sampled"));
    }

    @Test
    void theCallersSamplingFlagWinsAndB3SingleBecomesMultiHeaders() throws Exception {
        proxy = mesh(zipkin("random_sampling: { value: 0 },")).start();
        Map<String, String> seen = get("-H", "b3: 80f198ee56343ba8-e457b5a2e4d86bd1-1");
        assertFalse(seen.containsKey("b3"), seen.toString());
        assertEquals("80f198ee56343ba8", seen.get("x-b3-traceid"));
        assertEquals("e457b5a2e4d86bd1", seen.get("x-b3-spanid"), "an ingress span shares the caller's span id");
        assertEquals("1", seen.get("x-b3-sampled"));
    }

    @Test
    void theBootstrapProviderServesAnHcmWithoutOne() throws Exception {
        proxy = mesh("{ random_sampling: { value: 100 } }")
                .bootstrap("tracing", "{ http: { name: envoy.tracers.opentelemetry, typed_config: "
                        + Bootstraps.typed("envoy.config.trace.v3.OpenTelemetryConfig",
                        "grpc_service: { envoy_grpc: { cluster_name: zipkin } }") + " } }")
                .start();
        Map<String, String> seen = get();
        assertTrue(seen.get("traceparent").matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01"), seen.toString());
        assertEquals('9', seen.get("x-request-id").charAt(14));
    }

    @Test
    void aBatchWithNoCollectorHostIsCountedAsSkipped() throws Exception {
        proxy = mesh(zipkin("")).start(); // the zipkin cluster has no endpoint
        assertEquals("1", get().get("x-b3-sampled"));
        Poll.until(() -> proxy.counter("tracing.zipkin.reports_skipped_no_cluster") == 1,
                "the timer's batch skipped: no host in the collector cluster");
        assertEquals(List.of(0L, 0L, 0L), List.of(proxy.counter("tracing.zipkin.reports_sent"),
                proxy.counter("tracing.zipkin.reports_failed"), proxy.counter("tracing.zipkin.spans_sent")));
    }

    @Test
    void withoutTracingNothingIsAdded() throws Exception {
        proxy = mesh(null).start();
        Map<String, String> seen = get();
        assertFalse(seen.containsKey("x-b3-traceid"), seen.toString());
        assertFalse(seen.containsKey("traceparent"), seen.toString());
        assertEquals('4', seen.get("x-request-id").charAt(14));
    }

    @Test
    void badTracingConfigNamesTheField() {
        String prefix = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.tracing";
        ConfigException e = assertThrows(ConfigException.class,
                () -> mesh(zipkin("random_sampling: { value: 150 },")).start());
        assertEquals(prefix + ".random_sampling.value: 150.0 (expected: 0..100)", e.getMessage());
        e = assertThrows(ConfigException.class, () -> mesh("{ provider: { name: envoy.tracers.zipkin, typed_config: "
                + Bootstraps.typed("envoy.config.trace.v3.ZipkinConfig", "collector_cluster: zipkin, "
                + "collector_endpoint: /api/v2/spans, collector_endpoint_version: HTTP_PROTO") + " } }").start());
        assertEquals(prefix + ".provider.typed_config.collector_endpoint_version: HTTP_PROTO (expected: HTTP_JSON)",
                e.getMessage());
        e = assertThrows(ConfigException.class, () -> mesh("{ provider: { name: envoy.tracers.opentelemetry, "
                + "typed_config: " + Bootstraps.typed("envoy.config.trace.v3.OpenTelemetryConfig",
                "http_service: { http_uri: { uri: \"http://x/v1/traces\", cluster: zipkin, timeout: 1s } }")
                + " } }").start());
        assertEquals(prefix + ".provider.typed_config.http_service: OTLP over HTTP is not supported "
                + "(expected: grpc_service)", e.getMessage());
        e = assertThrows(ConfigException.class, () -> mesh("{ provider: { name: envoy.tracers.datadog, typed_config: "
                + Bootstraps.typed("google.protobuf.Empty", "") + " } }").start());
        assertTrue(e.getMessage().startsWith(prefix + ".provider.typed_config"), e.getMessage());
    }
}
