package io.jmesh.proxy.network.rpc;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.jmesh.proxy.config.ConfigException;

/**
 * The immutable registry of RPC filter factories, keyed by filter name and by config type URL (a filter may be named
 * either way, as in Envoy): the built-in {@link RpcRouterFilterFactory} and every {@link RpcFilterFactory} registered
 * with {@link ServiceLoader}. Builds the per-call factories of an rpc_proxy's {@code filters} list (Envoy generic
 * proxy's {@code filters}: {@code TypedExtensionConfig}s, the router last). An unknown filter is a config error.
 */
public final class RpcFilterRegistry {

    private static final Logger logger = LoggerFactory.getLogger(RpcFilterRegistry.class);

    /** {@code xds.type.v3.TypedStruct}: a config given as a type URL and a JSON value. */
    static final String TYPED_STRUCT = "type.googleapis.com/xds.type.v3.TypedStruct";
    /** The legacy {@code udpa.type.v1.TypedStruct}, accepted likewise. */
    static final String UDPA_TYPED_STRUCT = "type.googleapis.com/udpa.type.v1.TypedStruct";

    /** The filters of this JVM: the router and those on the class path. */
    public static final RpcFilterRegistry DEFAULT = load();

    private final Map<String, RpcFilterFactory> byName = new LinkedHashMap<>();
    private final Map<String, RpcFilterFactory> byTypeUrl = new LinkedHashMap<>();

    /** A registry of exactly {@code factories} (the first of a name or type URL wins). */
    public RpcFilterRegistry(Collection<? extends RpcFilterFactory> factories) {
        for (RpcFilterFactory f : factories) {
            if (byName.putIfAbsent(f.name(), f) != null) {
                logger.warn("RPC filter {} ({}) ignored: the name is taken", f.name(), f.getClass().getName());
                continue;
            }
            if (f.typeUrl() != null) {
                byTypeUrl.putIfAbsent(f.typeUrl(), f);
            }
        }
    }

    private static RpcFilterRegistry load() {
        final List<RpcFilterFactory> all = new ArrayList<>();
        all.add(RpcRouterFilterFactory.INSTANCE);
        for (RpcFilterFactory f : ServiceLoader.load(RpcFilterFactory.class, RpcFilterRegistry.class.getClassLoader())) {
            all.add(f);
        }
        return new RpcFilterRegistry(all);
    }

    /** The factory named {@code name}, or null. */
    public RpcFilterFactory byName(String name) {
        return byName.get(name);
    }

    /** The factory whose config has type URL {@code typeUrl}, or null. */
    public RpcFilterFactory byTypeUrl(String typeUrl) {
        return byTypeUrl.get(typeUrl);
    }

    /**
     * Builds the per-call factories of a {@code filters} list (without the router, which the proxy runs as the
     * terminal step); {@code path} names the list in errors. Null {@code filters} is the router alone.
     */
    List<RpcFilterFactory.PerCall> build(JsonNode filters, String path, RpcFilterFactory.Context context)
            throws ConfigException {
        if (filters == null) {
            return List.of();
        }
        if (!filters.isArray() || filters.isEmpty()) {
            throw new ConfigException(path + ": " + filters + " (expected: a list of filters ending with "
                                      + RpcRouterFilterFactory.NAME + ")");
        }
        final List<RpcFilterFactory.PerCall> out = new ArrayList<>();
        for (int i = 0; i < filters.size(); i++) {
            final String at = path + '[' + i + ']';
            final JsonNode f = filters.get(i);
            if (!f.isObject()) {
                throw new ConfigException(at + ": " + f + " (expected: {name, typed_config})");
            }
            final var fields = f.fieldNames();
            while (fields.hasNext()) {
                final String name = fields.next();
                if (!name.equals("name") && !name.equals("typed_config")) {
                    throw new ConfigException(at + '.' + name + ": (expected: name or typed_config)");
                }
            }
            final JsonNode n = f.get("name");
            if (n == null || !n.isTextual() || n.asText().isEmpty()) {
                throw new ConfigException(at + ".name: " + n + " (expected: a non-empty string)");
            }
            final JsonNode tc = f.get("typed_config");
            String typeUrl = null;
            JsonNode config = JsonNodeFactory.instance.objectNode();
            if (tc != null) {
                if (!tc.isObject() || !tc.path("@type").isTextual()) {
                    throw new ConfigException(at + ".typed_config: " + tc + " (expected: an object with @type)");
                }
                typeUrl = tc.get("@type").asText();
                if (TYPED_STRUCT.equals(typeUrl) || UDPA_TYPED_STRUCT.equals(typeUrl)) {
                    typeUrl = tc.path("type_url").asText(null);
                    config = tc.has("value") ? tc.get("value") : config;
                    if (!config.isObject()) {
                        throw new ConfigException(at + ".typed_config.value: " + config + " (expected: an object)");
                    }
                } else {
                    final ObjectNode copy = ((ObjectNode) tc).deepCopy();
                    copy.remove("@type");
                    config = copy;
                }
            }
            RpcFilterFactory factory = typeUrl != null ? byTypeUrl.get(typeUrl) : null;
            if (factory == null) {
                factory = byName.get(n.asText());
            }
            if (factory == null) {
                throw new ConfigException(at + ".name: " + n.asText() + (typeUrl != null ? " (" + typeUrl + ")" : "")
                                          + " (expected: a supported RPC filter: " + byName.keySet() + ")");
            }
            final boolean last = i == filters.size() - 1;
            if (factory.terminal() != last) {
                throw new ConfigException(at + ".name: " + n.asText() + (last
                        ? " (expected: the last filter to be " + RpcRouterFilterFactory.NAME + ")"
                        : " (expected: the router to be the last filter)"));
            }
            try {
                final RpcFilterFactory.PerCall pc = factory.create(config, context);
                if (pc != null && !factory.terminal()) {
                    out.add(pc);
                }
            } catch (ConfigException e) {
                throw e.under(at + ".typed_config");
            }
        }
        return List.copyOf(out);
    }
}
