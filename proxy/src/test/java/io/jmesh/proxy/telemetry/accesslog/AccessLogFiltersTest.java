package io.jmesh.proxy.telemetry.accesslog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLogFilter;
import io.envoyproxy.envoy.config.accesslog.v3.AndFilter;
import io.envoyproxy.envoy.config.accesslog.v3.ComparisonFilter;
import io.envoyproxy.envoy.config.accesslog.v3.ExtensionFilter;
import io.envoyproxy.envoy.config.accesslog.v3.ResponseFlagFilter;
import io.envoyproxy.envoy.config.accesslog.v3.StatusCodeFilter;
import io.envoyproxy.envoy.config.accesslog.v3.TraceableFilter;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.RuntimeUInt32;
import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.stream.ResponseFlag;
import io.jmesh.proxy.stream.StreamInfo;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Access log {@code filter}s, as istiod writes them for a Telemetry's {@code accessLogging[].filter}. */
class AccessLogFiltersTest {

    @TempDir
    Path dir;

    static AccessLogFilter cel(String expression) {
        return AccessLogFilter.newBuilder().setExtensionFilter(ExtensionFilter.newBuilder()
                .setName(AccessLogFilters.CEL)
                .setTypedConfig(Any.pack(ExpressionFilter.newBuilder().setExpression(expression).build()))).build();
    }

    private AccessLog fileLog(Path path, AccessLogFilter filter) {
        return AccessLog.newBuilder().setName("envoy.access_loggers.file").setFilter(filter)
                .setTypedConfig(Any.pack(FileAccessLog.newBuilder().setPath(path.toString())
                        .setLogFormat(SubstitutionFormatString.newBuilder().setTextFormatSource(
                                DataSource.newBuilder().setInlineString("%REQ(:METHOD)% %RESPONSE_CODE%\n")))
                        .build())).build();
    }

    @Test
    void celFilterWritesOnlyMatchingEntries() throws Exception {
        Path path = dir.resolve("errors.log");
        var log = AccessLogs.create(List.of(fileLog(path, cel("response.code >= 400"))));
        log.log(new StreamInfo().method("GET").responseCode(200));
        log.log(new StreamInfo().method("POST").responseCode(503));
        log.log(new StreamInfo().method("PUT").responseCode(404));
        AccessLogs.flush();
        assertEquals("POST 503\nPUT 404\n", Files.readString(path, StandardCharsets.UTF_8));
    }

    @Test
    void andOfResponseFlagAndStatusCode() throws Exception {
        Path path = dir.resolve("and.log");
        AccessLogFilter status = AccessLogFilter.newBuilder().setStatusCodeFilter(StatusCodeFilter.newBuilder()
                .setComparison(ComparisonFilter.newBuilder().setOp(ComparisonFilter.Op.GE)
                        .setValue(RuntimeUInt32.newBuilder().setDefaultValue(500)))).build();
        AccessLogFilter flags = AccessLogFilter.newBuilder().setResponseFlagFilter(ResponseFlagFilter.newBuilder()
                .addFlags("UH")).build();
        var log = AccessLogs.create(List.of(fileLog(path, AccessLogFilter.newBuilder()
                .setAndFilter(AndFilter.newBuilder().addFilters(status).addFilters(flags)).build())));
        log.log(new StreamInfo().method("GET").responseCode(503));
        log.log(new StreamInfo().method("HEAD").responseCode(503).addResponseFlag(ResponseFlag.NO_HEALTHY_UPSTREAM));
        log.log(new StreamInfo().method("PUT").responseCode(200).addResponseFlag(ResponseFlag.NO_HEALTHY_UPSTREAM));
        AccessLogs.flush();
        assertEquals("HEAD 503\n", Files.readString(path, StandardCharsets.UTF_8));
    }

    @Test
    void refusesWhatItCannotEvaluateByName() {
        ConfigException e = assertThrows(ConfigException.class, () -> AccessLogs.create(List.of(
                fileLog(dir.resolve("a.log"), cel("response.code >= 400 && upstream.foo == 1")))));
        assertEquals("access_log[0].filter.extension_filter.typed_config.expression: response.code >= 400 && "
                + "upstream.foo == 1 (expected: Istio's CEL subset; unknown attribute 'upstream.foo'",
                e.getMessage().substring(0, e.getMessage().indexOf("' (expected: one of") + 1));
        e = assertThrows(ConfigException.class, () -> AccessLogs.create(List.of(fileLog(dir.resolve("b.log"),
                AccessLogFilter.newBuilder().setTraceableFilter(TraceableFilter.getDefaultInstance()).build()))));
        assertEquals("access_log[0].filter: traceable_filter (expected: extension_filter "
                + "envoy.access_loggers.extension_filters.cel, status_code_filter, duration_filter, "
                + "response_flag_filter, and_filter or or_filter)", e.getMessage());
        e = assertThrows(ConfigException.class, () -> AccessLogs.create(List.of(fileLog(dir.resolve("c.log"),
                AccessLogFilter.newBuilder().setExtensionFilter(ExtensionFilter.newBuilder().setName("acme.filter")
                        .setTypedConfig(Any.pack(FileAccessLog.getDefaultInstance()))).build()))));
        assertEquals("access_log[0].filter.extension_filter: "
                + "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog (expected: "
                + "envoy.access_loggers.extension_filters.cel with a "
                + "type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter)", e.getMessage());
    }
}
