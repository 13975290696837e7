package io.jmesh.proxy.telemetry.accesslog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/**
 * Access loggers come from the extension registry: a test logger listed in {@code META-INF/services}
 * ({@link RecordingAccessLoggerFactory}) records the entries of the HTTP connection manager and of tcp_proxy, with
 * the server's stats from its context; an unknown logger is refused by name with its path.
 */
class AccessLoggerRegistryTest {

    @Test
    void aLoggerFromServiceLoaderRecordsHttpRequests() throws Exception {
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.http()
                     .hcm("access_log", "[" + RecordingAccessLoggerFactory.config("hcm") + "]")
                     .route("/", "b").cluster("b", backend.port()).start()) {
            assertEquals(200, Curl.run(proxy.url("/one")).status);
            Poll.until(() -> RecordingAccessLoggerFactory.entries("hcm").size() == 1, "one entry");
            assertEquals(List.of("200 b /one"), List.copyOf(RecordingAccessLoggerFactory.entries("hcm")));
            assertEquals(1, proxy.server().stats().counter("test.recording.hcm.entries").get());
        }
    }

    @Test
    void aLoggerFromServiceLoaderRecordsTcpProxyConnections() throws Exception {
        try (TestBackend backend = TestBackend.start("b");
             ProxyFixture proxy = Bootstraps.tcp("b")
                     .option("access_log", "[" + RecordingAccessLoggerFactory.config("tcp") + "]")
                     .cluster("b", backend.port()).start()) {
            assertEquals(200, Curl.run(proxy.url("/one")).status);
            Poll.until(() -> RecordingAccessLoggerFactory.entries("tcp").size() == 1, "one entry");
            assertEquals("b", RecordingAccessLoggerFactory.entries("tcp").peek().split(" ")[1]);
        }
    }

    @Test
    void anUnknownLoggerIsRefusedByNameWithItsPath() {
        ConfigException e = assertThrows(ConfigException.class, () -> Bootstraps.http()
                .hcm("access_log", "[{ name: jmesh.nope, typed_config: { \"@type\": "
                        + "type.googleapis.com/xds.type.v3.TypedStruct, type_url: type.googleapis.com/jmesh.Nope } }]")
                .route("/", "b").cluster("b", 1).start());
        String m = e.getMessage();
        assertTrue(m.startsWith("static_resources.listeners[0].filter_chains[0].filters[0].typed_config.access_log[0]"
                + ".typed_config.type_url: type.googleapis.com/jmesh.Nope (expected: an access_logger of ["), m);
        assertTrue(m.contains(AccessLogs.FILE) && m.contains(RecordingAccessLoggerFactory.NAME), m);
        assertTrue(m.endsWith("] with its config; name: jmesh.nope)"), m);
    }
}
