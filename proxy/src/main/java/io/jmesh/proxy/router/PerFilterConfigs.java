package io.jmesh.proxy.router;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

import com.google.protobuf.Any;

import io.jmesh.proxy.config.ConfigException;

/** Parses one level of {@code typed_per_filter_config} over the level above it. */
final class PerFilterConfigs {

    private PerFilterConfigs() {}

    /** Returns {@code parent} with the parsed entries of {@code raw} put over it; immutable. */
    static Map<String, Object> parse(FilterConfigParser parser, Map<String, Any> raw, Map<String, Object> parent,
                                     String path) throws ConfigException {
        if (raw.isEmpty()) {
            return parent;
        }
        Map<String, Object> out = new HashMap<>(parent);
        for (Map.Entry<String, Any> e : new TreeMap<>(raw).entrySet()) {
            Object parsed = parser.parse(e.getKey(), e.getValue(), path + "[\"" + e.getKey() + "\"]");
            if (parsed != null) {
                out.put(e.getKey(), parsed);
            }
        }
        return Map.copyOf(out);
    }
}
