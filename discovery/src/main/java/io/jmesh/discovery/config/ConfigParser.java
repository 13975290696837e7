package io.jmesh.discovery.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
 * {@link ConfigError} with its file and the line of the field it names (the document's line when the
 * field is not in the file, e.g. a missing one), and the others are kept (as istiod does with
 * objects in a bad file). A document of a kind of an {@code *.istio.io} group that jmesh does not implement is never
 * dropped silently: it becomes a {@link ConfigWarning} that says it is not applied, or a {@link ConfigError} when it
 * is a security kind (a policy the user believes enforced). Documents of other groups are skipped, like istiod ignores
 * other CRDs. The YAML is read as Go's YAML reads it (see {@link GoYaml}). Stateless and thread-safe.
 */
public final class ConfigParser {

    /** Largest YAML file read, in bytes; a larger file is one error. */
    public static final long MAX_FILE_BYTES = 8L * 1024 * 1024;

    static final ObjectMapper MAPPER = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    /**
     * API groups whose kinds are security policy: an object of such a group that jmesh does not implement is an
     * error, not a warning, since what it asks for is not enforced. {@code rbac.istio.io} and
     * {@code authentication.istio.io} are Istio's removed policy APIs.
     */
    static final java.util.Set<String> SECURITY_GROUPS =
            java.util.Set.of("security.istio.io", "rbac.istio.io", "authentication.istio.io");

    /**
     * Returns whether a rejected object named {@code kindName} is a security policy (PeerAuthentication,
     * AuthorizationPolicy, RequestAuthentication, or a security kind jmesh does not implement): its rejection means
     * a policy is not enforced.
     */
    public static boolean isSecurityPolicy(String kindName, String reason) {
        ConfigKind k = kindName == null ? null : ConfigKind.of(kindName);
        return (k != null && k.group() == ConfigKind.Group.SECURITY)
                || (reason != null && reason.contains("policy is NOT enforced"));
    }

    private static final java.util.Set<String> TOP_LEVEL_FIELDS =
            java.util.Set.of("apiVersion", "kind", "metadata", "spec", "status");

    /**
     * What one file or string gave: the good objects, the rejected ones, and the warnings (objects not applied
     * because jmesh does not implement their kind, and warnings about good objects), in file order.
     */
    public record Result(List<Config<?>> configs, List<ConfigError> errors, List<ConfigWarning> warnings) {
        public Result {
            configs = List.copyOf(configs);
            errors = List.copyOf(errors);
            warnings = warnings == null ? List.of() : List.copyOf(warnings);
        }

        /** A result without warnings. */
        public Result(List<Config<?>> configs, List<ConfigError> errors) {
            this(configs, errors, List.of());
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
        List<ConfigWarning> warnings = new ArrayList<>();
        try (Reader reader = new StringReader(GoYaml.normalize(yaml));
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
                                "document: " + describe(token) + " (expected: a mapping with apiVersion, kind, metadata)"));
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
                Object parsed = toConfig(node, new ConfigSource(file, line), defaultNamespace, lines, warnings);
                if (parsed instanceof Config<?> c) {
                    configs.add(c);
                } else if (parsed instanceof ConfigError err) {
                    errors.add(err);
                } else if (parsed instanceof ConfigWarning w) {
                    warnings.add(w);
                }
            }
        } catch (IOException e) {
            errors.add(new ConfigError(new ConfigSource(file, 1), null, null, null, "yaml: " + e.getMessage()));
        }
        return new Result(configs, errors, warnings);
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

    /**
     * Returns a Config (its validation warnings added to {@code warnings}), a ConfigError, a ConfigWarning for an
     * {@code *.istio.io} kind jmesh does not implement, or null for a kind of another group.
     */
    private static Object toConfig(JsonNode node, ConfigSource source, String defaultNamespace,
                                   Map<String, Integer> lines, List<ConfigWarning> warnings) {
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
            return notImplemented(kindName, apiVersion, source, namespace, name);
        }
        try {
            if (!kind.group().accepts(apiVersion)) {
                throw new ConfigException("apiVersion: " + apiVersion + " (expected: " + kind.group().expected() + ")");
            }
            for (java.util.Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
                String field = it.next();
                if (!TOP_LEVEL_FIELDS.contains(field)) { // as kubectl's strict field validation: "specs:" is no spec
                    throw new ConfigException(field + ": unknown field (expected: one of apiVersion, kind, metadata, "
                            + "spec, status)");
                }
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
            // the object's warnings count only once it is accepted: a rejected object is not applied at all
            List<ConfigWarning> own = new ArrayList<>();
            ConfigValidator.validate(config, w -> own.add(new ConfigWarning(source, kindName, meta.namespace(), name,
                    w, true)));
            warnings.addAll(own);
            return config;
        } catch (ConfigException e) {
            ConfigSource at = new ConfigSource(source.file(), lineOf(e.getMessage(), lines, source.line()));
            return new ConfigError(at, kindName, namespace, name, e.getMessage());
        }
    }

    /**
     * An object of a kind jmesh does not read: null when its group is not an {@code *.istio.io} one (another CRD,
     * ignored as istiod ignores it); a ConfigError for a security group (the policy would not be enforced); a
     * ConfigWarning, not applied, otherwise.
     */
    private static Object notImplemented(String kindName, String apiVersion, ConfigSource source, String namespace,
                                         String name) {
        if (apiVersion == null) {
            return null;
        }
        int slash = apiVersion.indexOf('/');
        String group = (slash < 0 ? apiVersion : apiVersion.substring(0, slash)).toLowerCase(java.util.Locale.ROOT);
        if (!group.equals("istio.io") && !group.endsWith(".istio.io")) {
            return null;
        }
        List<String> implemented = new ArrayList<>();
        for (ConfigKind k : ConfigKind.values()) {
            if (k.group().groupName().equals(group)) {
                implemented.add(k.kindName());
            }
        }
        String expected = implemented.isEmpty() ? "no kind of " + group + " is implemented by jmesh"
                : "one of " + String.join(", ", implemented) + " for " + group;
        if (SECURITY_GROUPS.contains(group)) {
            return new ConfigError(source, kindName, namespace, name, "kind: " + kindName + " of " + apiVersion
                    + " is not implemented by jmesh and its policy is NOT enforced (expected: " + expected + ")");
        }
        return new ConfigWarning(source, kindName, namespace, name, "kind: " + kindName + " of " + apiVersion
                + " is not implemented by jmesh (expected: " + expected + ")", false);
    }

    /**
     * Binds {@code spec} to {@code type}. {@link SpecSchema} reports unknown fields and values of the wrong JSON type
     * first (all of them); what binding can still refuse after that (an enum constant the type lacks) is named by
     * its path and value.
     */
    private static Object readSpec(ObjectNode spec, Class<?> type) throws ConfigException {
        List<String> problems = new ArrayList<>();
        SpecSchema.check(spec, type, "spec", problems);
        if (!problems.isEmpty()) {
            throw new ConfigException(String.join("; ", problems));
        }
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
            // Library wording (Java types, JsonToken names) never reaches the user: name the value instead.
            JsonNode at = spec;
            for (JsonMappingException.Reference ref : e.getPath()) {
                at = ref.getFieldName() != null ? at.path(ref.getFieldName()) : at.path(ref.getIndex());
            }
            throw new ConfigException(path + ": " + (at.isMissingNode() ? "?" : SpecSchema.show(at))
                    + " (expected: a value of the field's type)");
        } catch (JsonProcessingException | IllegalArgumentException e) {
            throw new ConfigException("spec: cannot be read (expected: the kind's fields)");
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
            if (!e.getValue().isTextual()) { // as Kubernetes: yes, on, 1 and 1.0 are not strings
                throw new ConfigException(path + '.' + e.getKey() + ": " + SpecSchema.show(e.getValue())
                        + " (expected: a string; quote it)");
            }
            out.put(e.getKey(), e.getValue().asText());
        }
        return out;
    }

    /** What a document that is not a mapping is, in a user's words. */
    private static String describe(JsonToken token) {
        return switch (token) {
            case START_ARRAY -> "a list";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            case VALUE_TRUE, VALUE_FALSE -> "a bool";
            default -> "not a mapping";
        };
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
