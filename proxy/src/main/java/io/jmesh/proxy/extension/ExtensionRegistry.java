package io.jmesh.proxy.extension;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeSet;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.HttpFilterFactory;
import io.jmesh.proxy.filter.HttpFilterRegistry;
import io.jmesh.proxy.filter.cors.CorsFilterFactory;
import io.jmesh.proxy.filter.fault.FaultFilterFactory;
import io.jmesh.proxy.filter.router.RouterFilterFactory;
import io.jmesh.proxy.network.rpc.RpcFilterFactory;
import io.jmesh.proxy.network.rpc.RpcRouterFilterFactory;

/**
 * The immutable registry of extension factories of every {@link ExtensionKind}, keyed by Envoy's extension name
 * and by config type URL. A config is looked up as Envoy does: by the type URL of its {@code typed_config} (the
 * inner {@code type_url} of a {@code TypedStruct}), then by name. A factory registered later under a name or type
 * URL already taken replaces the earlier one, so a user jar can replace a built-in.
 *
 * <p>{@link #load(ClassLoader)} finds the built-ins and everything listed in {@code META-INF/services/<factory
 * interface>} files of the class path (a test or a user jar adds a network filter by listing its
 * {@code NetworkFilterFactory} there). The registry is passed to the server, the listeners and the HTTP connection
 * managers, so tests can inject their own ({@link #builder()}).
 */
public final class ExtensionRegistry {

    private static final Logger logger = LoggerFactory.getLogger(ExtensionRegistry.class);

    private static final String TYPED_STRUCT = "type.googleapis.com/xds.type.v3.TypedStruct";
    private static final String UDPA_TYPED_STRUCT = "type.googleapis.com/udpa.type.v1.TypedStruct";

    private static volatile ExtensionRegistry defaultRegistry;

    private final Map<ExtensionKind<?>, Map<String, Object>> byName;
    private final Map<ExtensionKind<?>, Map<String, Object>> byTypeUrl;
    private volatile HttpFilterRegistry httpFilters;

    private ExtensionRegistry(Builder b) {
        Map<ExtensionKind<?>, Map<String, Object>> n = new HashMap<>();
        Map<ExtensionKind<?>, Map<String, Object>> t = new HashMap<>();
        // Kept in registration order, so lists of names in error messages are stable.
        b.byName.forEach((k, v) -> n.put(k, java.util.Collections.unmodifiableMap(new LinkedHashMap<>(v))));
        b.byTypeUrl.forEach((k, v) -> t.put(k, java.util.Collections.unmodifiableMap(new LinkedHashMap<>(v))));
        this.byName = Map.copyOf(n);
        this.byTypeUrl = Map.copyOf(t);
    }

    /**
     * The registry of the built-ins and the extensions listed in {@code META-INF/services} of this class's class
     * loader, loaded once.
     */
    public static ExtensionRegistry loadDefault() {
        ExtensionRegistry r = defaultRegistry;
        if (r == null) {
            synchronized (ExtensionRegistry.class) {
                r = defaultRegistry;
                if (r == null) {
                    r = load(ExtensionRegistry.class.getClassLoader());
                    defaultRegistry = r;
                }
            }
        }
        return r;
    }

    /** The built-ins and the extensions listed in {@code META-INF/services} files that {@code loader} sees. */
    public static ExtensionRegistry load(ClassLoader loader) {
        return builder().addBuiltins().loadServices(loader).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this registry's factories (by the same names and type URLs), to add more. */
    public Builder toBuilder() {
        Builder b = new Builder();
        byName.forEach((k, v) -> b.byName.put(k, new LinkedHashMap<>(v)));
        byTypeUrl.forEach((k, v) -> b.byTypeUrl.put(k, new LinkedHashMap<>(v)));
        return b;
    }

    @SuppressWarnings("unchecked")
    private static <F> void addUnchecked(Builder b, ExtensionKind<F> kind, Object factory) {
        b.add(kind, (F) factory);
    }

    /**
     * The factory for a config: by {@code typedConfig}'s type URL (a {@code TypedStruct}'s inner one), else by
     * {@code name}; null when neither is registered. {@code typedConfig} may be null.
     */
    public <F> F find(ExtensionKind<F> kind, String name, Any typedConfig) {
        return findJson(kind, name, typeUrl(typedConfig));
    }

    /**
     * The factory for a config given as JSON: by {@code typeUrl} (already a {@code TypedStruct}'s inner one), else
     * by {@code name}; null when neither is registered. Either may be null.
     */
    public <F> F findJson(ExtensionKind<F> kind, String name, String typeUrl) {
        Object f = null;
        if (typeUrl != null) {
            f = byTypeUrl.getOrDefault(kind, Map.of()).get(typeUrl);
        }
        if (f == null && name != null) {
            f = byName.getOrDefault(kind, Map.of()).get(name);
        }
        return f == null ? null : kind.type().cast(f);
    }

    /**
     * As {@link #find}, but an unknown extension is a config error naming it and where it is configured:
     * {@code path.name: envoy.filters.network.foo (type.googleapis.com/...) (expected: a network_filter of
     * [...])}. With {@code optional} ({@code is_optional}) an unknown extension is null instead.
     *
     * @param path the config's place, e.g. {@code listeners[0].filter_chains[1].filters[0]}
     */
    public <F> F require(ExtensionKind<F> kind, String name, Any typedConfig, String path, boolean optional)
            throws ConfigException {
        F f = find(kind, name, typedConfig);
        if (f != null || optional) {
            return f;
        }
        String typeUrl = typeUrl(typedConfig);
        throw new ConfigException(path + ".name: " + (name == null || name.isEmpty() ? "\"\"" : name)
                + (typeUrl != null ? " (" + typeUrl + ")" : "")
                + " (expected: a " + kind.name() + " of " + new TreeSet<>(byName.getOrDefault(kind, Map.of()).keySet())
                + ")");
    }

    /** The Envoy names of a kind's factories, in registration order. */
    public List<String> names(ExtensionKind<?> kind) {
        return List.copyOf(byName.getOrDefault(kind, Map.of()).keySet());
    }

    /** The distinct factories of a kind. */
    public <F> List<F> all(ExtensionKind<F> kind) {
        List<F> out = new ArrayList<>();
        for (Object f : new java.util.LinkedHashSet<>(byName.getOrDefault(kind, Map.of()).values())) {
            out.add(kind.type().cast(f));
        }
        for (Object f : byTypeUrl.getOrDefault(kind, Map.of()).values()) {
            F cast = kind.type().cast(f);
            if (!out.contains(cast)) {
                out.add(cast);
            }
        }
        return out;
    }

    /**
     * The HTTP filters of this registry in the form the HTTP connection manager reads them (a thin adapter over
     * {@link HttpFilterRegistry}).
     */
    public HttpFilterRegistry httpFilters() {
        HttpFilterRegistry r = httpFilters;
        if (r == null) {
            r = new HttpFilterRegistry(all(ExtensionKind.HTTP_FILTER));
            httpFilters = r;
        }
        return r;
    }

    /** The type URL a config is looked up by: a TypedStruct's inner type URL, else the Any's; null for none. */
    public static String typeUrl(Any typedConfig) {
        if (typedConfig == null || typedConfig.getTypeUrl().isEmpty()) {
            return null;
        }
        String url = typedConfig.getTypeUrl();
        try {
            if (url.equals(TYPED_STRUCT)) {
                return typedConfig.unpack(com.github.xds.type.v3.TypedStruct.class).getTypeUrl();
            }
            if (url.equals(UDPA_TYPED_STRUCT)) {
                return typedConfig.unpack(com.github.udpa.udpa.type.v1.TypedStruct.class).getTypeUrl();
            }
        } catch (InvalidProtocolBufferException e) {
            return url;
        }
        return url;
    }

    /** Collects factories; later registrations replace earlier ones under the same name or type URL. */
    public static final class Builder {
        private final Map<ExtensionKind<?>, Map<String, Object>> byName = new LinkedHashMap<>();
        private final Map<ExtensionKind<?>, Map<String, Object>> byTypeUrl = new LinkedHashMap<>();

        private Builder() {}

        /** Registers {@code factory} under its kind, name and type URLs. */
        public Builder add(ExtensionFactory factory) {
            addUnchecked(this, factory.kind(), factory);
            return this;
        }

        /** Registers {@code factory} under its name and type URLs. */
        public <F> Builder add(ExtensionKind<F> kind, F factory) {
            kind.type().cast(factory);
            String name = kind.nameOf(factory);
            Collection<String> urls = kind.typeUrlsOf(factory);
            if ((name == null || name.isEmpty()) && urls.isEmpty()) {
                throw new IllegalArgumentException(kind + " " + factory.getClass().getName()
                        + " has neither a name nor a type URL");
            }
            if (name != null && !name.isEmpty()) {
                Object old = byName.computeIfAbsent(kind, k -> new LinkedHashMap<>()).put(name, factory);
                if (old != null && old != factory) {
                    logger.info("{} {}: {} replaces {}", kind, name, factory.getClass().getName(),
                            old.getClass().getName());
                }
            }
            for (String url : urls) {
                byTypeUrl.computeIfAbsent(kind, k -> new LinkedHashMap<>()).put(url, factory);
            }
            return this;
        }

        /**
         * The extensions this proxy ships that are not in its {@code META-INF/services}: the RPC router (first, so
         * it heads the list of RPC filters in errors) and the HTTP filters; the rest come from this jar's
         * {@code META-INF/services}.
         */
        public Builder addBuiltins() {
            add(RpcFilterFactory.KIND, RpcRouterFilterFactory.INSTANCE);
            add(ExtensionKind.HTTP_FILTER, new FaultFilterFactory());
            add(ExtensionKind.HTTP_FILTER, new CorsFilterFactory());
            add(ExtensionKind.HTTP_FILTER, new io.jmesh.proxy.filter.ratelimit.LocalRateLimitFilterFactory());
            add(ExtensionKind.HTTP_FILTER, new io.jmesh.proxy.filter.ratelimit.RateLimitFilterFactory());
            add(ExtensionKind.HTTP_FILTER, new RouterFilterFactory());
            return this;
        }

        /**
         * Adds the HTTP filter factories listed in {@code META-INF/services/io.jmesh.proxy.filter.HttpFilterFactory},
         * the factories of any other kind listed in
         * {@code META-INF/services/io.jmesh.proxy.extension.ExtensionFactory} and the RPC filters of the older
         * {@code META-INF/services/io.jmesh.proxy.network.rpc.RpcFilterFactory} that {@code loader} sees.
         */
        public Builder loadServices(ClassLoader loader) {
            try {
                for (HttpFilterFactory f : ServiceLoader.load(HttpFilterFactory.class, loader)) {
                    add(ExtensionKind.HTTP_FILTER, f);
                }
                for (ExtensionFactory f : ServiceLoader.load(ExtensionFactory.class, loader)) {
                    add(f);
                }
                // RPC filters were found through their own service file before they joined this registry.
                for (RpcFilterFactory f : ServiceLoader.load(RpcFilterFactory.class, loader)) {
                    add(RpcFilterFactory.KIND, f);
                }
            } catch (ServiceConfigurationError | ClassCastException e) {
                throw new IllegalStateException("cannot load extensions: " + e.getMessage(), e);
            }
            return this;
        }

        public ExtensionRegistry build() {
            return new ExtensionRegistry(this);
        }
    }
}
