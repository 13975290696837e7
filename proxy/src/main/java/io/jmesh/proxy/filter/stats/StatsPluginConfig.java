package io.jmesh.proxy.filter.stats;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import com.google.protobuf.Any;
import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumDescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumValueDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.MessageOptions;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.DurationProto;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.telemetry.cel.CelExpression;

/**
 * The config of Istio's stats filters, {@code stats.PluginConfig} (istio/proxy
 * {@code source/extensions/filters/http/istio_stats/config.proto}), given as a {@code TypedStruct} (as istiod sends
 * it) or packed. Read: {@code reporter} ({@code UNSPECIFIED}: from the listener's direction; {@code SERVER_GATEWAY}),
 * {@code disable_host_header_fallback}, {@code tcp_reporting_duration} (accepted; TCP metrics are recorded as bytes
 * flow, so the interval changes nothing), and {@code metrics} overrides with {@code name}, {@code drop},
 * {@code tags_to_remove} and {@code dimensions} whose values are expressions in Istio's CEL subset
 * ({@link CelExpression}: a new label per dimension, e.g. {@code rpc_method: request.method} or
 * {@code user: request.headers['x-user']}, or a new value for a standard label, as Istio's {@code tagOverrides}
 * UPSERT; for Bolt and Dubbo {@code request.host} is the service interface and {@code request.method} the RPC
 * method; a value that errs, e.g. a missing header, is {@code unknown}). Refused by name: what the CEL subset
 * cannot parse, {@code metrics[].match} and {@code definitions} (custom metrics). Immutable.
 */
public final class StatsPluginConfig {

    /** The config's type URL. */
    public static final String TYPE_URL = "type.googleapis.com/stats.PluginConfig";

    /** The descriptor of {@code stats.PluginConfig}, built here as Istio's proto declares it. */
    public static final Descriptor DESCRIPTOR = buildDescriptor();

    /** The standard metric names (without {@code istio_}), as {@code metrics[].name} names them. */
    static final Set<String> METRIC_NAMES = Set.of("requests_total", "request_duration_milliseconds", "request_bytes",
            "response_bytes", "request_messages_total", "response_messages_total", "tcp_connections_opened_total",
            "tcp_connections_closed_total", "tcp_sent_bytes_total", "tcp_received_bytes_total");

    static final StatsPluginConfig DEFAULT = new StatsPluginConfig(false, false, Set.of(), Map.of(), Map.of(), Map.of());

    final boolean serverGateway;
    final boolean disableHostHeaderFallback;
    /** Metrics not reported (standard names without {@code istio_}). */
    final Set<String> dropped;
    /** Tags removed per metric (standard name without {@code istio_}). */
    final Map<String, Set<String>> tagsToRemove;
    /** Added or overridden labels per metric: tag name to CEL expression, sorted by tag name. */
    final Map<String, Map<String, String>> dimensions;
    /** Every expression of {@link #dimensions}, parsed. */
    final Map<String, CelExpression> expressions;

    private StatsPluginConfig(boolean serverGateway, boolean disableHostHeaderFallback, Set<String> dropped,
                              Map<String, Set<String>> tagsToRemove, Map<String, Map<String, String>> dimensions,
                              Map<String, CelExpression> expressions) {
        this.dimensions = dimensions;
        this.expressions = expressions;
        this.serverGateway = serverGateway;
        this.disableHostHeaderFallback = disableHostHeaderFallback;
        this.dropped = dropped;
        this.tagsToRemove = tagsToRemove;
    }

    /** Parses a filter's {@code typed_config}; the empty Any is the default config. Errors name the field. */
    public static StatsPluginConfig parse(Any typedConfig) throws ConfigException {
        String url = typedConfig.getTypeUrl();
        if (url.isEmpty()) {
            return DEFAULT;
        }
        try {
            if (url.equals("type.googleapis.com/udpa.type.v1.TypedStruct")) {
                var ts = typedConfig.unpack(com.github.udpa.udpa.type.v1.TypedStruct.class);
                checkInner(ts.getTypeUrl());
                return parseJson(JsonFormat.printer().print(ts.getValue()), "value");
            }
            if (url.equals("type.googleapis.com/xds.type.v3.TypedStruct")) {
                var ts = typedConfig.unpack(com.github.xds.type.v3.TypedStruct.class);
                checkInner(ts.getTypeUrl());
                return parseJson(JsonFormat.printer().print(ts.getValue()), "value");
            }
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException("value: " + e.getMessage() + " (expected: a TypedStruct)", e);
        }
        if (!url.equals(TYPE_URL)) {
            throw new ConfigException("@type: " + url + " (expected: " + TYPE_URL + ", or a TypedStruct of it)");
        }
        try {
            return from(DynamicMessage.parseFrom(DESCRIPTOR, typedConfig.getValue()), "");
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException("value: " + e.getMessage() + " (expected: a serialized stats.PluginConfig)", e);
        }
    }

    /** Parses the JSON form (a TypedStruct's {@code value}); {@code path} prefixes errors. */
    public static StatsPluginConfig parseJson(String json, String path) throws ConfigException {
        DynamicMessage.Builder b = DynamicMessage.newBuilder(DESCRIPTOR);
        try {
            JsonFormat.parser().merge(json, b);
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException((path.isEmpty() ? "" : path + ": ") + e.getMessage()
                    + " (expected: a stats.PluginConfig)", e);
        }
        return from(b.build(), path.isEmpty() ? "" : path + ".");
    }

    private static void checkInner(String inner) throws ConfigException {
        if (!inner.equals(TYPE_URL)) {
            throw new ConfigException("type_url: " + inner + " (expected: " + TYPE_URL + ")");
        }
    }

    private static StatsPluginConfig from(Message m, String p) throws ConfigException {
        Descriptor d = m.getDescriptorForType();
        EnumValueDescriptor reporter = (EnumValueDescriptor) m.getField(d.findFieldByName("reporter"));
        boolean fallbackOff = (Boolean) m.getField(d.findFieldByName("disable_host_header_fallback"));
        FieldDescriptor defs = d.findFieldByName("definitions");
        if (m.getRepeatedFieldCount(defs) > 0) {
            throw new ConfigException(p + "definitions: " + m.getRepeatedFieldCount(defs)
                    + " definitions (expected: none; custom metrics with CEL values are not supported)");
        }
        FieldDescriptor metrics = d.findFieldByName("metrics");
        Set<String> dropped = new java.util.TreeSet<>();
        Map<String, Set<String>> remove = new TreeMap<>();
        Map<String, Map<String, String>> dims = new TreeMap<>();
        Map<String, CelExpression> expressions = new TreeMap<>();
        for (int i = 0; i < m.getRepeatedFieldCount(metrics); i++) {
            Message mc = (Message) m.getRepeatedField(metrics, i);
            Descriptor md = mc.getDescriptorForType();
            String at = p + "metrics[" + i + "]";
            String name = (String) mc.getField(md.findFieldByName("name"));
            if (!name.isEmpty() && !METRIC_NAMES.contains(name)) {
                throw new ConfigException(at + ".name: " + name + " (expected: a standard metric: "
                        + new java.util.TreeSet<>(METRIC_NAMES) + ")");
            }
            List<String> names0 = name.isEmpty() ? new ArrayList<>(METRIC_NAMES) : List.of(name);
            FieldDescriptor dimField = md.findFieldByName("dimensions");
            for (int j = 0; j < mc.getRepeatedFieldCount(dimField); j++) {
                Message entry = (Message) mc.getRepeatedField(dimField, j);
                String tag = (String) entry.getField(entry.getDescriptorForType().findFieldByName("key"));
                String expr = ((String) entry.getField(entry.getDescriptorForType().findFieldByName("value"))).trim();
                if (!expressions.containsKey(expr)) {
                    try {
                        expressions.put(expr, CelExpression.parse(expr));
                    } catch (ConfigException e) {
                        String msg = e.getMessage();
                        throw new ConfigException(at + ".dimensions." + tag + ": "
                                + (msg.startsWith("expression: ") ? msg.substring("expression: ".length()) : msg), e);
                    }
                }
                if (!tag.matches("[a-zA-Z_][a-zA-Z0-9_]*")) {
                    throw new ConfigException(at + ".dimensions." + tag + ": " + expr
                            + " (expected: a Prometheus label name)");
                }
                for (String n : names0) {
                    dims.computeIfAbsent(n, k -> new TreeMap<>()).put(tag, expr);
                }
            }
            if (!((String) mc.getField(md.findFieldByName("match"))).isEmpty()) {
                throw new ConfigException(at + ".match: " + mc.getField(md.findFieldByName("match"))
                        + " (expected: empty; conditional overrides are not supported)");
            }
            List<String> names = name.isEmpty() ? new ArrayList<>(METRIC_NAMES) : List.of(name);
            if ((Boolean) mc.getField(md.findFieldByName("drop"))) {
                dropped.addAll(names);
            }
            FieldDescriptor ttr = md.findFieldByName("tags_to_remove");
            for (int j = 0; j < mc.getRepeatedFieldCount(ttr); j++) {
                String tag = (String) mc.getRepeatedField(ttr, j);
                if (!IstioMetrics.ALL_TAGS.contains(tag)) {
                    throw new ConfigException(at + ".tags_to_remove[" + j + "]: " + tag + " (expected: a standard tag: "
                            + IstioMetrics.ALL_TAGS + ")");
                }
                for (String n : names) {
                    remove.computeIfAbsent(n, k -> new java.util.TreeSet<>()).add(tag);
                }
            }
        }
        return new StatsPluginConfig(reporter.getName().equals("SERVER_GATEWAY"), fallbackOff, Set.copyOf(dropped),
                Map.copyOf(remove), Map.copyOf(dims), Map.copyOf(expressions));
    }

    private static Descriptor buildDescriptor() {
        FieldDescriptorProto.Label opt = FieldDescriptorProto.Label.LABEL_OPTIONAL;
        FieldDescriptorProto.Label rep = FieldDescriptorProto.Label.LABEL_REPEATED;
        DescriptorProto entry = DescriptorProto.newBuilder().setName("DimensionsEntry")
                .setOptions(MessageOptions.newBuilder().setMapEntry(true))
                .addField(field("key", 1, FieldDescriptorProto.Type.TYPE_STRING, opt, null))
                .addField(field("value", 2, FieldDescriptorProto.Type.TYPE_STRING, opt, null)).build();
        DescriptorProto metricConfig = DescriptorProto.newBuilder().setName("MetricConfig").addNestedType(entry)
                .addField(field("dimensions", 1, FieldDescriptorProto.Type.TYPE_MESSAGE, rep,
                        ".stats.MetricConfig.DimensionsEntry"))
                .addField(field("name", 2, FieldDescriptorProto.Type.TYPE_STRING, opt, null))
                .addField(field("tags_to_remove", 3, FieldDescriptorProto.Type.TYPE_STRING, rep, null))
                .addField(field("match", 4, FieldDescriptorProto.Type.TYPE_STRING, opt, null))
                .addField(field("drop", 5, FieldDescriptorProto.Type.TYPE_BOOL, opt, null)).build();
        DescriptorProto definition = DescriptorProto.newBuilder().setName("MetricDefinition")
                .addField(field("name", 1, FieldDescriptorProto.Type.TYPE_STRING, opt, null))
                .addField(field("value", 2, FieldDescriptorProto.Type.TYPE_STRING, opt, null))
                .addField(field("type", 3, FieldDescriptorProto.Type.TYPE_ENUM, opt, ".stats.MetricType")).build();
        DescriptorProto plugin = DescriptorProto.newBuilder().setName("PluginConfig")
                .addField(field("disable_host_header_fallback", 6, FieldDescriptorProto.Type.TYPE_BOOL, opt, null))
                .addField(field("tcp_reporting_duration", 7, FieldDescriptorProto.Type.TYPE_MESSAGE, opt,
                        ".google.protobuf.Duration"))
                .addField(field("metrics", 8, FieldDescriptorProto.Type.TYPE_MESSAGE, rep, ".stats.MetricConfig"))
                .addField(field("definitions", 9, FieldDescriptorProto.Type.TYPE_MESSAGE, rep,
                        ".stats.MetricDefinition"))
                .addField(field("reporter", 10, FieldDescriptorProto.Type.TYPE_ENUM, opt, ".stats.Reporter"))
                .addField(field("rescoping_duration", 11, FieldDescriptorProto.Type.TYPE_MESSAGE, opt,
                        ".google.protobuf.Duration"))
                .addField(field("scope_grace_period_duration", 12, FieldDescriptorProto.Type.TYPE_MESSAGE, opt,
                        ".google.protobuf.Duration")).build();
        FileDescriptorProto file = FileDescriptorProto.newBuilder().setName("jmesh/istio/stats/config.proto")
                .setPackage("stats").setSyntax("proto3").addDependency("google/protobuf/duration.proto")
                .addMessageType(metricConfig).addMessageType(definition).addMessageType(plugin)
                .addEnumType(enumType("MetricType", "COUNTER", "GAUGE", "HISTOGRAM"))
                .addEnumType(enumType("Reporter", "UNSPECIFIED", "SERVER_GATEWAY")).build();
        try {
            return FileDescriptor.buildFrom(file, new FileDescriptor[] {DurationProto.getDescriptor()})
                    .findMessageTypeByName("PluginConfig");
        } catch (DescriptorValidationException e) {
            throw new IllegalStateException(e);
        }
    }

    private static FieldDescriptorProto field(String name, int number, FieldDescriptorProto.Type type,
                                              FieldDescriptorProto.Label label, String typeName) {
        FieldDescriptorProto.Builder b = FieldDescriptorProto.newBuilder().setName(name).setNumber(number)
                .setType(type).setLabel(label);
        if (typeName != null) {
            b.setTypeName(typeName);
        }
        return b.build();
    }

    private static EnumDescriptorProto enumType(String name, String... values) {
        EnumDescriptorProto.Builder b = EnumDescriptorProto.newBuilder().setName(name);
        for (int i = 0; i < values.length; i++) {
            b.addValue(EnumValueDescriptorProto.newBuilder().setName(values[i]).setNumber(i));
        }
        return b.build();
    }
}
