package io.jmesh.proxy.filter.setmetadata;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.testing.AccessLogFiles;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/** {@code envoy.filters.http.set_metadata} through a real proxy: values, deep merge, overwrite denied. */
class SetMetadataFilterTest {

    private static final String NAME = "envoy.filters.http.set_metadata";
    private static final String TYPE = "envoy.extensions.filters.http.set_metadata.v3.Config";

    @Test
    void setsMergesAndDeniesOverwrite(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("access.log");
        try (TestBackend backend = TestBackend.start("b1");
             ProxyFixture proxy = Bootstraps.http()
                     .accessLog(log, "%DYNAMIC_METADATA(team)% %DYNAMIC_METADATA(fixed:k)%")
                     .httpFilter(NAME, Bootstraps.typed(TYPE, "metadata: ["
                             + " { metadata_namespace: team, value: { name: a, tags: [x], o: { p: a1 } } },"
                             + " { metadata_namespace: team, allow_overwrite: true,"
                             + "   value: { name: b, tags: [y], o: { q: b2 } } },"
                             + " { metadata_namespace: fixed, value: { k: v1 } },"
                             + " { metadata_namespace: fixed, value: { k: v2 } } ]"))
                     .route("/", "backend")
                     .cluster("backend", backend.port())
                     .start(2)) {
            assertEquals(200, Curl.run(proxy.url("/a")).status);
            assertEquals(List.of("{\"name\":\"b\",\"tags\":[\"x\",\"y\"],\"o\":{\"p\":\"a1\",\"q\":\"b2\"}} v1"),
                    AccessLogFiles.awaitLines(log, 1));
            assertEquals(1, proxy.counter("http.ingress.set_metadata.overwrite_denied"));
        }
    }

    @Test
    void deprecatedFieldsAndTypedValue() throws Exception {
        try (TestBackend backend = TestBackend.start("b1")) {
            ConfigException e = assertThrows(ConfigException.class, () -> Bootstraps.http()
                    .httpFilter(NAME, Bootstraps.typed(TYPE, "metadata: [ { metadata_namespace: t, typed_value:"
                            + " { \"@type\": type.googleapis.com/google.protobuf.StringValue, value: x } } ]"))
                    .route("/", "backend").cluster("backend", backend.port()).start(1).close());
            assertTrue(e.getMessage().contains("http_filters[0].typed_config.metadata[0].typed_value:"
                    + " type.googleapis.com/google.protobuf.StringValue"), e.getMessage());
        }
    }
}
