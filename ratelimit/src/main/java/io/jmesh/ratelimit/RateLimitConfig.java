package io.jmesh.ratelimit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;

/**
 * envoyproxy/ratelimit's configuration, read unchanged: one YAML document per domain
 * ({@code domain}, {@code descriptors}: {@code key}, optional {@code value}, {@code rate_limit}
 * ({@code unit}: second, minute, hour, day, week, month, year; {@code requests_per_unit}; optional {@code name}),
 * {@code unlimited}, {@code shadow_mode}, nested {@code descriptors}); {@code detailed_metric} is accepted and
 * ignored with a warning. A descriptor without {@code value} matches any value of its key; one with a value ending in
 * {@code *} matches values with that prefix. Immutable.
 */
public final class RateLimitConfig {

    private static final Logger logger = LoggerFactory.getLogger(RateLimitConfig.class);
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    /** A limit of a matched descriptor. */
    public record Limit(long requestsPerUnit, RateLimitResponse.RateLimit.Unit unit, String name, boolean unlimited,
                        boolean shadowMode, String fullKey) {

        /** The unit's length in seconds (the window). */
        public long unitSeconds() {
            return switch (unit) {
                case SECOND -> 1;
                case MINUTE -> 60;
                case HOUR -> 3600;
                case DAY -> 86400;
                case WEEK -> 604800;
                case MONTH -> 2592000;
                case YEAR -> 31536000;
                default -> 1;
            };
        }
    }

    /** A node of a domain's descriptor tree. */
    private static final class Node {
        final Map<String, Node> children = new HashMap<>();
        final List<Map.Entry<String, Node>> prefixChildren = new ArrayList<>();
        Limit limit;
    }

    private final Map<String, Node> domains;

    private RateLimitConfig(Map<String, Node> domains) {
        this.domains = domains;
    }

    /** An empty config (no domain: every request is OK). */
    public static RateLimitConfig empty() {
        return new RateLimitConfig(Map.of());
    }

    /** The domains configured. */
    public java.util.Set<String> domains() {
        return domains.keySet();
    }

    /**
     * Loads a YAML file, or every {@code .yaml}/{@code .yml} file of a directory (as envoyproxy/ratelimit reads its
     * runtime directory). Errors name the file and the field path.
     */
    public static RateLimitConfig load(Path path) throws ConfigError {
        List<Path> files = new ArrayList<>();
        if (Files.isDirectory(path)) {
            try (Stream<Path> s = Files.list(path)) {
                s.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted()
                 .forEach(files::add);
            } catch (IOException e) {
                throw new ConfigError(path + ": " + e.getMessage());
            }
        } else {
            files.add(path);
        }
        Map<String, Node> domains = new HashMap<>();
        for (Path f : files) {
            String text;
            try {
                text = Files.readString(f);
            } catch (IOException e) {
                throw new ConfigError(f + ": cannot read: " + e.getMessage());
            }
            parseInto(f.toString(), text, domains);
        }
        return new RateLimitConfig(Map.copyOf(domains));
    }

    /** Parses one YAML document ({@code source} names it in errors). */
    public static RateLimitConfig parse(String source, String yaml) throws ConfigError {
        Map<String, Node> domains = new HashMap<>();
        parseInto(source, yaml, domains);
        return new RateLimitConfig(Map.copyOf(domains));
    }

    private static void parseInto(String source, String yaml, Map<String, Node> domains) throws ConfigError {
        JsonNode root;
        try {
            root = YAML.readTree(yaml);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : ":" + e.getLocation().getLineNr();
            throw new ConfigError(source + where + ": not YAML: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new ConfigError(source + ": " + root + " (expected: a mapping with domain and descriptors)");
        }
        fields(source, "", root, "domain", "descriptors");
        JsonNode d = root.get("domain");
        if (d == null || !d.isTextual() || d.asText().isEmpty()) {
            throw new ConfigError(source + ": domain: " + d + " (expected: a non-empty string)");
        }
        String domain = d.asText();
        if (domains.containsKey(domain)) {
            throw new ConfigError(source + ": domain: " + domain + " (expected: each domain once)");
        }
        Node top = new Node();
        descriptors(source, "descriptors", root.get("descriptors"), top, domain);
        domains.put(domain, top);
    }

    private static void descriptors(String source, String path, JsonNode list, Node parent, String parentKey)
            throws ConfigError {
        if (list == null || list.isNull()) {
            return;
        }
        if (!list.isArray()) {
            throw new ConfigError(source + ": " + path + ": " + list + " (expected: a list)");
        }
        for (int i = 0; i < list.size(); i++) {
            String p = path + '[' + i + ']';
            JsonNode n = list.get(i);
            if (!n.isObject()) {
                throw new ConfigError(source + ": " + p + ": " + n + " (expected: a mapping)");
            }
            fields(source, p + '.', n, "key", "value", "rate_limit", "unlimited", "shadow_mode", "descriptors",
                    "detailed_metric");
            JsonNode k = n.get("key");
            if (k == null || !k.isValueNode() || k.asText().isEmpty()) {
                throw new ConfigError(source + ": " + p + ".key: " + k + " (expected: a non-empty string)");
            }
            String key = k.asText();
            String value = n.has("value") && !n.get("value").isNull() ? n.get("value").asText() : "";
            String mapKey = value.isEmpty() ? key : key + '_' + value;
            String fullKey = parentKey + '.' + mapKey;
            if (parent.children.containsKey(mapKey)) {
                throw new ConfigError(source + ": " + p + ": duplicate descriptor " + mapKey + " (expected: unique"
                        + " key/value pairs at one level)");
            }
            if (n.path("detailed_metric").asBoolean(false)) {
                logger.warn("{}: {}.detailed_metric: ignored (jmesh ratelimit keeps no per-descriptor metrics)",
                        source, p);
            }
            boolean unlimited = bool(source, p + ".unlimited", n.get("unlimited"));
            boolean shadow = bool(source, p + ".shadow_mode", n.get("shadow_mode"));
            Node node = new Node();
            JsonNode rl = n.get("rate_limit");
            if (rl != null && !rl.isNull()) {
                fields(source, p + ".rate_limit.", rl, "unit", "requests_per_unit", "name");
                JsonNode u = rl.get("unit");
                RateLimitResponse.RateLimit.Unit unit;
                try {
                    unit = RateLimitResponse.RateLimit.Unit.valueOf(u == null ? "" : u.asText().toUpperCase(Locale.ROOT));
                } catch (IllegalArgumentException e) {
                    unit = RateLimitResponse.RateLimit.Unit.UNKNOWN;
                }
                if (unit == RateLimitResponse.RateLimit.Unit.UNKNOWN
                        || unit == RateLimitResponse.RateLimit.Unit.UNRECOGNIZED) {
                    throw new ConfigError(source + ": " + p + ".rate_limit.unit: " + u
                            + " (expected: second, minute, hour, day, week, month or year)");
                }
                JsonNode rpu = rl.get("requests_per_unit");
                if (!unlimited && (rpu == null || !rpu.canConvertToLong() || rpu.asLong() < 0
                        || rpu.asLong() > 0xFFFFFFFFL)) {
                    throw new ConfigError(source + ": " + p + ".rate_limit.requests_per_unit: " + rpu
                            + " (expected: a number >= 0)");
                }
                node.limit = new Limit(rpu == null ? 0 : rpu.asLong(), unit, rl.path("name").asText(""), unlimited,
                        shadow, fullKey);
            } else if (unlimited) {
                node.limit = new Limit(0, RateLimitResponse.RateLimit.Unit.UNKNOWN, "", true, shadow, fullKey);
            }
            if (unlimited && rl != null && !rl.isNull()) {
                throw new ConfigError(source + ": " + p + ".unlimited: true (expected: no rate_limit beside it)");
            }
            descriptors(source, p + ".descriptors", n.get("descriptors"), node, fullKey);
            parent.children.put(mapKey, node);
            if (value.endsWith("*")) {
                parent.prefixChildren.add(Map.entry(key + '_' + value.substring(0, value.length() - 1), node));
            }
        }
    }

    private static boolean bool(String source, String path, JsonNode n) throws ConfigError {
        if (n == null || n.isNull()) {
            return false;
        }
        if (!n.isBoolean()) {
            throw new ConfigError(source + ": " + path + ": " + n + " (expected: true or false)");
        }
        return n.asBoolean();
    }

    private static void fields(String source, String prefix, JsonNode n, String... allowed) throws ConfigError {
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!List.of(allowed).contains(f)) {
                throw new ConfigError(source + ": " + prefix + f + ": unknown field (expected: one of "
                        + String.join(", ", allowed) + ")");
            }
        }
    }

    /**
     * The limit of a request descriptor in {@code domain}, as envoyproxy/ratelimit finds it: the entries walk the
     * tree level by level ({@code key_value} first, then a prefix wildcard, then {@code key} alone); the limit of
     * the node reached by the last entry applies. Null when there is none.
     */
    public Limit find(String domain, List<Map.Entry<String, String>> entries) {
        Node node = domains.get(domain);
        if (node == null || entries.isEmpty()) {
            return null;
        }
        for (int i = 0; i < entries.size(); i++) {
            Map.Entry<String, String> e = entries.get(i);
            String kv = e.getKey() + '_' + e.getValue();
            Node next = node.children.get(kv);
            if (next == null) {
                for (Map.Entry<String, Node> p : node.prefixChildren) {
                    if (kv.startsWith(p.getKey())) {
                        next = p.getValue();
                        break;
                    }
                }
            }
            if (next == null) {
                next = node.children.get(e.getKey());
            }
            if (next == null) {
                return null;
            }
            if (i == entries.size() - 1) {
                return next.limit;
            }
            node = next;
        }
        return null;
    }

    /** A config that cannot be used, with the file, line or field path. */
    public static final class ConfigError extends Exception {
        private static final long serialVersionUID = 1L;

        public ConfigError(String message) {
            super(message);
        }
    }
}
