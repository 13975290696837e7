package io.jmesh.proxy.telemetry.accesslog;

import io.jmesh.proxy.stream.StreamInfo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.jmesh.proxy.config.ConfigException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@SuppressWarnings("deprecation") // exercises the deprecated FileAccessLog.format field
class AccessLogsTest {

    @TempDir
    Path dir;

    private static AccessLog file(FileAccessLog config) {
        return AccessLog.newBuilder().setName("envoy.access_loggers.file").setTypedConfig(Any.pack(config)).build();
    }

    @Test
    void emptyListIsNoop() throws ConfigException {
        assertSame(io.jmesh.proxy.telemetry.accesslog.AccessLog.NOOP, AccessLogs.create(List.of()));
    }

    @Test
    void fileLoggerAppendsInlineStringFormat() throws Exception {
        Path path = dir.resolve("access.log");
        Files.writeString(path, "existing\n");
        io.jmesh.proxy.telemetry.accesslog.AccessLog log = AccessLogs.create(List.of(file(FileAccessLog.newBuilder()
                .setPath(path.toString())
                .setLogFormat(SubstitutionFormatString.newBuilder().setTextFormatSource(
                        DataSource.newBuilder().setInlineString("%REQ(:METHOD)% %RESPONSE_CODE% %UPSTREAM_CLUSTER%\n")))
                .build())));
        log.log(AccessLogFormatterTest.fullEntry());
        log.log(new StreamInfo().method("PUT").responseCode(404));
        AccessLogs.flush();
        assertEquals("existing\nGET 200 backend\nPUT 404 -\n", Files.readString(path, StandardCharsets.UTF_8));
    }

    @Test
    void fileLoggerDefaultAndLegacyFormat() throws Exception {
        Path defaultPath = dir.resolve("default.log");
        Path legacyPath = dir.resolve("legacy.log");
        io.jmesh.proxy.telemetry.accesslog.AccessLog log = AccessLogs.create(List.of(
                file(FileAccessLog.newBuilder().setPath(defaultPath.toString()).build()),
                file(FileAccessLog.newBuilder().setPath(legacyPath.toString()).setFormat("%PROTOCOL%\n").build())));
        log.log(AccessLogFormatterTest.fullEntry());
        AccessLogs.flush();
        assertEquals(AccessLogFormatter.parse(AccessLogFormatter.DEFAULT_FORMAT).format(AccessLogFormatterTest.fullEntry()),
                Files.readString(defaultPath));
        assertEquals("HTTP/1.1\n", Files.readString(legacyPath));
    }

    @Test
    void jsonFormatWritesTypedValuesOnePerLine() throws Exception {
        Path path = dir.resolve("json.log");
        Struct json = Struct.newBuilder()
                .putFields("code", Value.newBuilder().setStringValue("%RESPONSE_CODE%").build())
                .putFields("path", Value.newBuilder().setStringValue("%REQ(:PATH)%").build())
                .putFields("host", Value.newBuilder().setStringValue("%UPSTREAM_HOST%").build())
                .putFields("mixed", Value.newBuilder().setStringValue("%REQ(:METHOD)% x").build())
                .build();
        io.jmesh.proxy.telemetry.accesslog.AccessLog log = AccessLogs.create(List.of(file(FileAccessLog.newBuilder()
                .setPath(path.toString())
                .setLogFormat(SubstitutionFormatString.newBuilder().setJsonFormat(json))
                .build())));
        log.log(new StreamInfo().method("GET").path("/a").responseCode(201));
        AccessLogs.flush();
        String text = Files.readString(path);
        assertTrue(text.endsWith("}\n"), text);
        JsonNode node = new ObjectMapper().readTree(text);
        assertEquals(201, node.get("code").asInt());
        assertTrue(node.get("code").isNumber());
        assertEquals("/a", node.get("path").asText());
        assertTrue(node.get("host").isNull());
        assertEquals("GET x", node.get("mixed").asText());
    }

    @Test
    void rejectsUnknownTypeAndBadFormat() {
        ConfigException unknown = assertThrows(ConfigException.class, () -> AccessLogs.create(List.of(
                AccessLog.newBuilder().setName("x").setTypedConfig(Any.pack(Router.getDefaultInstance())).build())));
        assertTrue(unknown.getMessage().startsWith(
                "access_log[0].typed_config.type_url: type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"),
                unknown.getMessage());
        ConfigException badFormat = assertThrows(ConfigException.class, () -> AccessLogs.create(List.of(
                file(FileAccessLog.newBuilder().setPath(dir.resolve("x.log").toString()).setFormat("%NOPE%").build()))));
        assertEquals("access_log[0].typed_config.format: %NOPE% (expected: a known command operator)",
                badFormat.getMessage());
    }
}
