package io.jmesh.proxy.telemetry.accesslog;

import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Value;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.extension.ExtensionContext;
import io.jmesh.proxy.telemetry.Counter;

/**
 * {@code jmesh.test.access_loggers.recording}: a test access logger registered through
 * {@code META-INF/services/io.jmesh.proxy.extension.ExtensionFactory}, as a user jar would register one. It records
 * {@code <response code> <upstream cluster> <path>} per entry under the {@code label} of its config (a
 * {@code TypedStruct} of type {@value #TYPE_URL}) and counts entries in the server's stats
 * ({@code test.recording.<label>.entries}), which it gets from its {@link ExtensionContext}.
 */
public final class RecordingAccessLoggerFactory implements AccessLoggerFactory {

    static final String NAME = "jmesh.test.access_loggers.recording";
    static final String TYPE_URL = "type.googleapis.com/jmesh.test.RecordingLog";

    static final Map<String, Queue<String>> ENTRIES = new ConcurrentHashMap<>();

    /** The flow YAML of an {@code access_log} entry of this logger. */
    public static String config(String label) {
        return "{ name: " + NAME + ", typed_config: { \"@type\": type.googleapis.com/xds.type.v3.TypedStruct, "
                + "type_url: " + TYPE_URL + ", value: { label: " + label + " } } }";
    }

    public static Queue<String> entries(String label) {
        return ENTRIES.computeIfAbsent(label, k -> new ConcurrentLinkedQueue<>());
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<String> typeUrls() {
        return List.of(TYPE_URL);
    }

    @Override
    public AccessLog create(Any typedConfig, ExtensionContext context) throws ConfigException {
        Value v;
        try {
            v = typedConfig.unpack(TypedStruct.class).getValue().getFieldsMap().get("label");
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException("typed_config: " + e.getMessage() + " (expected: a TypedStruct)");
        }
        if (v == null || !v.hasStringValue() || v.getStringValue().isEmpty()) {
            throw new ConfigException("typed_config.value.label: " + v + " (expected: a non-empty string)");
        }
        String label = v.getStringValue();
        Queue<String> out = entries(label);
        Counter counter = context.stats().counter("test.recording." + label + ".entries");
        return entry -> {
            out.add(entry.responseCode() + " " + entry.upstreamCluster() + " " + entry.path());
            counter.inc();
        };
    }
}
