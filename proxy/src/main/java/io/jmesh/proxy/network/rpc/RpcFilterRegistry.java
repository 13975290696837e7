package io.jmesh.proxy.network.rpc;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.extension.ExtensionRegistry;

/**
 * The RPC filters of an {@link ExtensionRegistry} ({@link RpcFilterFactory#KIND}) in the form an rpc_proxy reads
 * them: builds the per-call factories of an rpc_proxy's {@code filters} list (Envoy generic proxy's
 * {@code filters}: {@code TypedExtensionConfig}s, the router last). A filter is found by its config's type URL, else
 * by its name, as in Envoy; an unknown filter is a config error. Immutable.
 */
public final class RpcFilterRegistry {

    /** {@code xds.type.v3.TypedStruct}: a config given as a type URL and a JSON value. */
    static final String TYPED_STRUCT = "type.googleapis.com/xds.type.v3.TypedStruct";
    /** The legacy {@code udpa.type.v1.TypedStruct}, accepted likewise. */
    static final String UDPA_TYPED_STRUCT = "type.googleapis.com/udpa.type.v1.TypedStruct";

    private final ExtensionRegistry registry;

    /** The RPC filters of {@code registry}. */
    public RpcFilterRegistry(ExtensionRegistry registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
    }

    /** A registry of the router and exactly {@code factories} (a later one replaces an earlier one by name). */
    public RpcFilterRegistry(Collection<? extends RpcFilterFactory> factories) {
        ExtensionRegistry.Builder b = ExtensionRegistry.builder().add(RpcFilterFactory.KIND,
                RpcRouterFilterFactory.INSTANCE);
        for (RpcFilterFactory f : factories) {
            b.add(RpcFilterFactory.KIND, f);
        }
        this.registry = b.build();
    }

    /** The RPC filters of {@link ExtensionRegistry#loadDefault()}: the router and those on the class path. */
    public static RpcFilterRegistry loadDefault() {
        return new RpcFilterRegistry(ExtensionRegistry.loadDefault());
    }

    /** The factory named {@code name}, or null. */
    public RpcFilterFactory byName(String name) {
        return registry.findJson(RpcFilterFactory.KIND, name, null);
    }

    /** The factory whose config has type URL {@code typeUrl}, or null. */
    public RpcFilterFactory byTypeUrl(String typeUrl) {
        return typeUrl == null ? null : registry.findJson(RpcFilterFactory.KIND, null, typeUrl);
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
            final RpcFilterFactory factory = registry.findJson(RpcFilterFactory.KIND, n.asText(), typeUrl);
            if (factory == null) {
                throw new ConfigException(at + ".name: " + n.asText() + (typeUrl != null ? " (" + typeUrl + ")" : "")
                                          + " (expected: a supported RPC filter: "
                                          + registry.names(RpcFilterFactory.KIND) + ")");
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
