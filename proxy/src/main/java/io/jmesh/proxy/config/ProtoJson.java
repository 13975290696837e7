package io.jmesh.proxy.config;

import java.util.Iterator;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;

/**
 * Parses YAML or JSON into Envoy's protobuf messages, the way Envoy reads its bootstrap: proto3 JSON
 * mapping, field names in snake_case or lowerCamelCase, {@code typed_config} as {@code Any} with an
 * {@code @type}. Before handing the tree to protobuf's {@link JsonFormat}, the whole tree is walked
 * against the message descriptors so that an unknown or mistyped field is reported with its full path,
 * e.g. {@code static_resources.clusters[0].lb_polcy: unknown field (expected a field of
 * envoy.config.cluster.v3.Cluster)}.
 *
 * <p>Thread-safe; the type registry is fixed at construction.
 */
public final class ProtoJson {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Well-known types whose JSON form is not an object of their fields. */
    private static final Set<String> SPECIAL_JSON = Set.of(
            "google.protobuf.Duration", "google.protobuf.Timestamp", "google.protobuf.FieldMask",
            "google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue",
            "google.protobuf.NullValue", "google.protobuf.Empty",
            "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
            "google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
            "google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue");

    private final JsonFormat.TypeRegistry registry;
    private final JsonFormat.Parser parser;

    public ProtoJson(JsonFormat.TypeRegistry registry) {
        this.registry = registry;
        this.parser = JsonFormat.parser().usingTypeRegistry(registry);
    }

    public JsonFormat.TypeRegistry typeRegistry() {
        return registry;
    }

    /** Reads YAML (a superset of JSON) into a tree. */
    public static JsonNode readTree(String text) throws ConfigException {
        try {
            JsonNode node = YAML.readTree(text);
            if (node == null || node.isMissingNode() || node.isNull()) {
                throw new ConfigException("empty document");
            }
            return node;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ConfigException("invalid YAML/JSON: " + e.getOriginalMessage()
                    + (e.getLocation() != null ? " at line " + e.getLocation().getLineNr()
                       + ", column " + e.getLocation().getColumnNr() : ""), e);
        }
    }

    /** Parses {@code text} (YAML or JSON) into {@code builder}, validating every field first. */
    public <B extends Message.Builder> B parse(String text, B builder) throws ConfigException {
        return parse(readTree(text), builder);
    }

    /** Parses a tree into {@code builder}, validating every field first. */
    public <B extends Message.Builder> B parse(JsonNode tree, B builder) throws ConfigException {
        validate(tree, builder.getDescriptorForType(), "");
        try {
            parser.merge(JSON.writeValueAsString(tree), builder);
            return builder;
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException(e.getMessage(), e);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ConfigException(e.getMessage(), e);
        }
    }

    private void validate(JsonNode node, Descriptor type, String path) throws ConfigException {
        String fullName = type.getFullName();
        if (SPECIAL_JSON.contains(fullName)) {
            return;
        }
        if (!node.isObject()) {
            throw new ConfigException(at(path) + node + " (expected: an object of " + fullName + ")");
        }
        if (fullName.equals("google.protobuf.Any")) {
            JsonNode typeUrl = node.get("@type");
            if (typeUrl == null || !typeUrl.isTextual()) {
                throw new ConfigException(at(path) + "missing @type (expected: an Any with a type URL)");
            }
            String url = typeUrl.asText();
            Descriptor inner = registry.find(url.substring(url.lastIndexOf('/') + 1));
            if (inner == null) {
                throw new ConfigException(join(path, "@type") + ": " + typeUrl.asText()
                        + " (expected: a type this proxy supports)");
            }
            if (SPECIAL_JSON.contains(inner.getFullName())) {
                return;
            }
            validateFields(node, inner, path, true);
            return;
        }
        validateFields(node, type, path, false);
    }

    /** Validates the fields of an object node of {@code type} (skipping an Any's {@code @type} when asked). */
    private void validateFields(JsonNode node, Descriptor type, String path, boolean skipTypeUrl)
            throws ConfigException {
        String fullName = type.getFullName();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            if (skipTypeUrl && e.getKey().equals("@type")) {
                continue;
            }
            FieldDescriptor field = type.findFieldByName(e.getKey());
            if (field == null) {
                for (FieldDescriptor f : type.getFields()) {
                    if (f.getJsonName().equals(e.getKey())) {
                        field = f;
                        break;
                    }
                }
            }
            String fieldPath = join(path, e.getKey());
            if (field == null) {
                throw new ConfigException(fieldPath + ": unknown field (expected: a field of " + fullName + ")");
            }
            JsonNode checked = validateField(e.getValue(), field, fieldPath);
            if (checked != e.getValue()) {
                e.setValue(checked);
            }
        }
    }

    /** Validates a field's value; returns it, or its normal form (an enum name in its declared case). */
    private JsonNode validateField(JsonNode value, FieldDescriptor field, String path) throws ConfigException {
        if (value.isNull()) {
            return value;
        }
        if (field.isMapField()) {
            if (!value.isObject()) {
                throw new ConfigException(path + ": " + value + " (expected: a map)");
            }
            FieldDescriptor valueField = field.getMessageType().findFieldByName("value");
            for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext();) {
                Map.Entry<String, JsonNode> e = it.next();
                JsonNode checked = validateSingle(e.getValue(), valueField, path + "." + e.getKey());
                if (checked != e.getValue()) {
                    e.setValue(checked);
                }
            }
            return value;
        }
        if (field.isRepeated()) {
            if (!value.isArray()) {
                throw new ConfigException(path + ": " + abbreviate(value) + " (expected: a list)");
            }
            for (int i = 0; i < value.size(); i++) {
                JsonNode checked = validateSingle(value.get(i), field, path + "[" + i + "]");
                if (checked != value.get(i)) {
                    ((com.fasterxml.jackson.databind.node.ArrayNode) value).set(i, checked);
                }
            }
            return value;
        }
        return validateSingle(value, field, path);
    }

    private JsonNode validateSingle(JsonNode value, FieldDescriptor field, String path) throws ConfigException {
        switch (field.getJavaType()) {
            case MESSAGE:
                validate(value, field.getMessageType(), path);
                break;
            case ENUM:
                if (value.isTextual()) {
                    EnumValueDescriptor v = field.getEnumType().findValueByName(value.asText());
                    if (v == null) {
                        // Envoy reads enum names case-insensitively (JsonParseOptions.case_insensitive_enum_parsing).
                        for (EnumValueDescriptor candidate : field.getEnumType().getValues()) {
                            if (candidate.getName().equalsIgnoreCase(value.asText())) {
                                return com.fasterxml.jackson.databind.node.TextNode.valueOf(candidate.getName());
                            }
                        }
                        throw new ConfigException(path + ": " + value.asText() + " (expected: one of "
                                + field.getEnumType().getValues().stream().map(EnumValueDescriptor::getName)
                                        .toList() + ")");
                    }
                } else if (!value.isInt()) {
                    throw new ConfigException(path + ": " + value + " (expected: an enum name)");
                }
                break;
            case BOOLEAN:
                if (!value.isBoolean() && !(value.isTextual()
                        && (value.asText().equals("true") || value.asText().equals("false")))) {
                    throw new ConfigException(path + ": " + value + " (expected: true or false)");
                }
                break;
            case INT: case LONG: case FLOAT: case DOUBLE:
                if (!value.isNumber() && !value.isTextual()) {
                    throw new ConfigException(path + ": " + abbreviate(value) + " (expected: a number)");
                }
                if (value.isTextual()) {
                    try {
                        Double.parseDouble(value.asText());
                    } catch (NumberFormatException e) {
                        throw new ConfigException(path + ": " + value.asText() + " (expected: a number)");
                    }
                }
                break;
            case STRING: case BYTE_STRING:
                if (!value.isValueNode()) {
                    throw new ConfigException(path + ": " + abbreviate(value) + " (expected: a string)");
                }
                break;
            default:
                break;
        }
        return value;
    }

    private static String abbreviate(JsonNode value) {
        String s = value.toString();
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }

    private static String at(String path) {
        return path.isEmpty() ? "" : path + ": ";
    }

    private static String join(String path, String name) {
        return path.isEmpty() ? name : path + "." + name;
    }
}
