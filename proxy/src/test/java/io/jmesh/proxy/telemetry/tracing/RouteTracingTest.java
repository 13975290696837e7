package io.jmesh.proxy.telemetry.tracing;

import static io.jmesh.proxy.telemetry.tracing.OtlpReceiver.attributes;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import io.opentelemetry.proto.trace.v1.Span;

/**
 * A route's {@code tracing} (Envoy's {@code Route.tracing}): its sampling fractions replace the connection
 * manager's for requests on the route (a fraction left unset is 100%), and its {@code custom_tags} join the
 * connection manager's, replacing one of the same name; seen in the headers a real backend receives and in the
 * spans a real OTLP/gRPC receiver gets.
 */
class RouteTracingTest {

    OtlpReceiver collector;
    TestBackend backend;
    ProxyFixture proxy;

    @BeforeEach
    void start() throws Exception {
        collector = new OtlpReceiver();
        backend = TestBackend.start("reviews");
    }

    @AfterEach
    void stop() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        backend.close();
        collector.close();
    }

    private Bootstraps mesh() {
        return Bootstraps.http()
                .bootstrap("node", "{ id: reviews-node, cluster: reviews.default }")
                .listener("inbound").listenerOption("traffic_direction", "INBOUND")
                .hcm("tracing", OtlpReceiver.tracing("reviews.default", "random_sampling: { value: 0 },"
                        + " custom_tags: [{ tag: team, literal: { value: books } }],"))
                .http2Cluster("otel", collector.port())
                .cluster("backend", backend.port());
    }

    private Map<String, String> get(String path, String... headers) throws Exception {
        String[] args = new String[headers.length * 2 + 1];
        for (int i = 0; i < headers.length; i++) {
            args[2 * i] = "-H";
            args[2 * i + 1] = headers[i];
        }
        args[args.length - 1] = "http://127.0.0.1:" + proxy.port() + path;
        Curl.Result r = Curl.run(args);
        assertEquals(200, r.status, r.toString());
        return ZipkinTracingTest.seenHeaders(r);
    }

    @Test
    void aRoutesSamplingReplacesTheConnectionManagersAndItsTagsJoinTheirs() throws Exception {
        proxy = mesh()
                .routeYaml("{ match: { prefix: \"/traced\" }, route: { cluster: backend }, tracing: {"
                        + " custom_tags: [{ tag: team, literal: { value: ratings } },"
                        + " { tag: tier, request_header: { name: x-tier, default_value: free } }] } }")
                .routeYaml("{ match: { prefix: \"/never\" }, route: { cluster: backend },"
                        + " tracing: { overall_sampling: { numerator: 0 } } }")
                .routeYaml("{ match: { prefix: \"/zero\" }, route: { cluster: backend },"
                        + " tracing: { random_sampling: { numerator: 0, denominator: TEN_THOUSAND } } }")
                .route("/", "backend")
                .start();
        // the HCM's random_sampling 0 holds where the route says nothing
        Map<String, String> plain = get("/plain");
        assertEquals('4', plain.get("x-request-id").charAt(14), plain.toString());
        assertTrue(plain.get("traceparent").endsWith("-00"), plain.toString());
        // a route's random_sampling of 0 too, explicitly
        assertTrue(get("/zero").get("traceparent").endsWith("-00"));
        // overall_sampling 0 on the route caps even a forced trace
        Map<String, String> never = get("/never", "x-envoy-force-trace: true",
                "x-forwarded-for: 10.1.2.3");
        assertEquals('4', never.get("x-request-id").charAt(14), never.toString());
        assertTrue(never.get("traceparent").endsWith("-00"), never.toString());
        // a route tracing without random_sampling samples every request (Envoy's default of 100%)
        Map<String, String> traced = get("/traced", "x-tier: gold");
        assertEquals('9', traced.get("x-request-id").charAt(14), traced.toString());
        assertTrue(traced.get("traceparent").endsWith("-01"), traced.toString());

        Poll.until(() -> !collector.spans().isEmpty(), "the traced request's span at the OTLP receiver");
        List<Span> spans = collector.spans();
        Map<String, String> tags = attributes(spans.get(0));
        assertEquals("ratings", tags.get("team"), "the route's tag replaces the connection manager's: " + tags);
        assertEquals("gold", tags.get("tier"), tags.toString());
        assertEquals(traced.get("x-request-id"), tags.get("guid:x-request-id"));
    }

    @Test
    void aBadRouteTracingIsRefusedByName() {
        ConfigException e = assertThrows(ConfigException.class, () -> mesh()
                .routeYaml("{ match: { prefix: \"/\" }, route: { cluster: backend },"
                        + " tracing: { custom_tags: [{ tag: \"\", literal: { value: x } }] } }")
                .start());
        assertTrue(e.getMessage().contains("routes[0].tracing.custom_tags[0].tag: \"\" (expected: a non-empty tag name)"),
                e.getMessage());
    }
}
