package io.jmesh.discovery.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import io.jmesh.proxy.config.ConfigException;
import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads multi-document Istio YAML into typed, validated {@link Config} objects. Each document is
 * handled on its own: a document that cannot be read or fails validation becomes a
 * {@link ConfigError} with its file and the line of the field it names (the document's line when the field
 * is not in the file, e.g. a missing one), and the others are kept (as istiod does with
 * objects in a bad file). Documents of kinds discovery does not read are skipped silently, like
 * istiod ignores other CRDs. Stateless and thread-safe.
 */
public final class ConfigParser {

    /** Largest YAML file read, in bytes; a larger file is one error. */
    public static final long MAX_FILE_BYTES = 8L * 1024 * 1024;

    static final ObjectMapper MAPPER = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    /** What one file or string gave: the good objects and the rejected ones, in file order. */
    public record Result(List<Config<?>> configs, List<ConfigError> errors) {
        public Result {
            configs = List.copyOf(configs);
            errors = List.copyOf(errors);
        }
    }

    private ConfigParser() {}

    /** Parses the file at {@code file}; never throws for bad content. */
    public static Result parse(Path file) {
        try {
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                return new Result(List.of(), List.of(new ConfigError(new ConfigSource(file, 1), null, null, null,
                        "file: " + size + " bytes (expected: <= " + MAX_FILE_BYTES + ")")));
            }
            return parse(file, Files.readString(file));
        } catch (IOException e) {
            return new Result(List.of(), List.of(new ConfigError(new ConfigSource(file, 1), null, null, null,
                    "file: cannot read (" + e.getMessage() + ")")));
        }
    }

    /** Parses {@code yaml}, reporting {@code file} (may be null) as its source. */
    public static Result parse(Path file, String yaml) {
        return parse(file, yaml, "default");
    }

    /**
     * Parses {@code yaml} as {@link #parse(Path, String)} does, putting objects without {@code metadata.namespace}
     * in {@code defaultNamespace} (as {@code kubectl apply -n} and {@code istioctl analyze -n} do).
     */
    public static Result parse(Path file, String yaml, String defaultNamespace) {
        List<Config<?>> configs = new ArrayList<>();
        List<ConfigError> errors = new ArrayList<>();
        try (Reader reader = new StringReader(yaml);
             YAMLParser parser = (YAMLParser) MAPPER.getFactory().createParser(reader)) {
            JsonToken token;
            while (true) {
                int line;
                try {
                    token = parser.nextToken();
                    if (token == null) {
                        break;
                    }
                    line = parser.currentTokenLocation().getLineNr();
                    if (token != JsonToken.START_OBJECT) {
                        if (token == JsonToken.VALUE_NULL) {
                            continue; // an empty document ("---" followed by nothing)
                        }
                        errors.add(new ConfigError(new ConfigSource(file, line), null, null, null,
                                "document: " + token + " (expected: a mapping with apiVersion, kind, metadata)"));
                        parser.skipChildren();
                        continue;
                    }
                } catch (JsonProcessingException e) {
                    int errLine = e.getLocation() == null ? 1 : e.getLocation().getLineNr();
                    errors.add(new ConfigError(new ConfigSource(file, errLine), null, null, null,
                            "yaml: " + e.getOriginalMessage()));
                    break; // the stream cannot be resynchronised after a syntax error
                }
                ObjectNode node = MAPPER.createObjectNode();
                Map<String, Integer> lines = new java.util.HashMap<>();
                try {
                    // Read the mapping key by key: the first key's location is the document's line
                    // (the mapping's own start mark may point at the "---" before it).
                    boolean first = true;
                    while (parser.nextToken() == JsonToken.FIELD_NAME) {
                        if (first) {
                            line = parser.currentTokenLocation().getLineNr();
                            first = false;
                        }
                        String field = parser.currentName();
                        lines.put(field, parser.currentTokenLocation().getLineNr());
                        parser.nextToken();
                        node.set(field, readNode(parser, field, lines));
                    }
                } catch (JsonProcessingException e) {
                    int errLine = e.getLocation() == null ? line : e.getLocation().getLineNr();
                    errors.add(new ConfigError(new ConfigSource(file, errLine), null, null, null,
                            "yaml: " + e.getOriginalMessage()));
                    break;
                }
                Object parsed = toConfig(node, new ConfigSource(file, line), defaultNamespace, lines);
                if (parsed instanceof Config<?> c) {
                    configs.add(c);
                } else if (parsed instanceof ConfigError err) {
                    errors.add(err);
                }
            }
        } catch (IOException e) {
            errors.add(new ConfigError(new ConfigSource(file, 1), null, null, null, "yaml: " + e.getMessage()));
        }
        return new Result(configs, errors);
    }

    /**
     * Reads the value at the parser's current token into a tree, putting the line of every field and list item
     * under its path ({@code spec.rules[0].from[0].source.principals[1]}) in {@code lines}: the line of a
     * field is that of its key, the line of a list item that of its first token.
     */
    private static JsonNode readNode(JsonParser parser, String path, Map<String, Integer> lines) throws IOException {
        lines.putIfAbsent(path, parser.currentTokenLocation().getLineNr());
        JsonToken token = parser.currentToken();
        if (token == JsonToken.START_OBJECT) {
            ObjectNode object = MAPPER.createObjectNode();
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.currentName();
                String child = path + '.' + field;
                lines.put(child, parser.currentTokenLocation().getLineNr());
                parser.nextToken();
                object.set(field, readNode(parser, child, lines));
            }
            return object;
        }
        if (token == JsonToken.START_ARRAY) {
            ArrayNode array = MAPPER.createArrayNode();
            int i = 0;
            while (parser.nextToken() != JsonToken.END_ARRAY) {
                array.add(readNode(parser, path + '[' + i++ + ']', lines));
            }
            return array;
        }
        return MAPPER.readTree(parser);
    }

    /**
     * The line of the field an error message starts with ({@code field.path: value (expected: ...)}): the line of
     * that path, else of its nearest enclosing field or list item that was read, else {@code documentLine}.
     */
    static int lineOf(String message, Map<String, Integer> lines, int documentLine) {
        if (message == null) {
            return documentLine;
        }
        int colon = message.indexOf(": ");
        if (colon <= 0) {
            return documentLine;
        }
        String path = message.substring(0, colon);
        if (path.indexOf(' ') >= 0) {
            return documentLine;
        }
        while (!path.isEmpty()) {
            Integer line = lines.get(path);
            if (line != null) {
                return line;
            }
            int cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
            if (cut <= 0) {
                break;
            }
            path = path.substring(0, cut);
        }
        return documentLine;
    }

    /** Returns a Config, a ConfigError, or null for a kind discovery does not read. */
    private static Object toConfig(JsonNode node, ConfigSource source, String defaultNamespace,
                                   Map<String, Integer> lines) {
        String kindName = text(node, "kind");
        String apiVersion = text(node, "apiVersion");
        JsonNode metadata = node.path("metadata");
        String name = text(metadata, "name");
        String namespace = text(metadata, "namespace");
        if (namespace == null || namespace.isEmpty()) {
            namespace = defaultNamespace;
        }
        if (kindName == null) {
            return new ConfigError(source, null, namespace, name, "kind: missing (expected: an Istio kind)");
        }
        ConfigKind kind = ConfigKind.of(kindName);
        if (kind == null || apiVersion == null || !apiVersion.startsWith(kind.group().groupName() + "/")) {
            return null;
        }
        try {
            if (!kind.group().accepts(apiVersion)) {
                throw new ConfigException("apiVersion: " + apiVersion + " (expected: " + kind.group().expected() + ")");
            }
            ConfigValidator.validateName(name);
            ConfigValidator.validateNamespace(namespace);
            Map<String, String> labels = stringMap(metadata.path("labels"), "metadata.labels");
            Map<String, String> annotations = stringMap(metadata.path("annotations"), "metadata.annotations");
            JsonNode specNode = node.get("spec");
            if (specNode == null || specNode.isNull()) {
                specNode = MAPPER.createObjectNode();
            }
            if (!specNode.isObject()) {
                throw new ConfigException("spec: " + specNode.getNodeType() + " (expected: a mapping)");
            }
            Object spec = readSpec((ObjectNode) specNode, kind.specType());
            java.time.Instant created = null;
            String createdText = text(metadata, "creationTimestamp");
            if (createdText != null) {
                try {
                    created = java.time.OffsetDateTime.parse(createdText).toInstant();
                } catch (java.time.format.DateTimeParseException e) {
                    throw new ConfigException("metadata.creationTimestamp: " + createdText
                            + " (expected: an RFC 3339 time such as 2024-01-02T03:04:05Z)");
                }
            }
            ConfigMeta meta = new ConfigMeta(kind, apiVersion, name, namespace, labels, annotations, source, created);
            Config<Object> config = new Config<>(meta, spec);
            ConfigValidator.validate(config);
            return config;
        } catch (ConfigException e) {
            ConfigSource at = new ConfigSource(source.file(), lineOf(e.getMessage(), lines, source.line()));
            return new ConfigError(at, kindName, namespace, name, e.getMessage());
        }
    }

    private static Object readSpec(ObjectNode spec, Class<?> type) throws ConfigException {
        try {
            return MAPPER.treeToValue(spec, type);
        } catch (JsonMappingException e) {
            StringBuilder path = new StringBuilder("spec");
            for (JsonMappingException.Reference ref : e.getPath()) {
                if (ref.getFieldName() != null) {
                    path.append('.').append(ref.getFieldName());
                } else if (ref.getIndex() >= 0) {
                    path.append('[').append(ref.getIndex()).append(']');
                }
            }
            if (e instanceof UnrecognizedPropertyException u) {
                java.util.TreeSet<String> known = new java.util.TreeSet<>();
                if (u.getKnownPropertyIds() != null) {
                    u.getKnownPropertyIds().forEach(k -> known.add(String.valueOf(k)));
                }
                throw new ConfigException(path + ": unknown field (expected: one of " + String.join(", ", known) + ")");
            }
            String msg = e.getOriginalMessage();
            int nl = msg.indexOf('\n');
            throw new ConfigException(path + ": " + (nl > 0 ? msg.substring(0, nl) : msg));
        } catch (JsonProcessingException | IllegalArgumentException e) {
            throw new ConfigException("spec: " + e.getMessage());
        }
    }

    private static Map<String, String> stringMap(JsonNode node, String path) throws ConfigException {
        if (node.isMissingNode() || node.isNull()) {
            return Map.of();
        }
        if (!node.isObject()) {
            throw new ConfigException(path + ": " + node.getNodeType() + " (expected: a mapping of strings)");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            if (!e.getValue().isValueNode() || e.getValue().isNull()) {
                throw new ConfigException(path + '.' + e.getKey() + ": " + e.getValue() + " (expected: a string)");
            }
            out.put(e.getKey(), e.getValue().asText());
        }
        return out;
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
