package io.jmesh.proxy.filter;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.Any;

import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.filter.cors.CorsFilterFactory;
import io.jmesh.proxy.filter.fault.FaultFilterFactory;
import io.jmesh.proxy.filter.router.RouterFilterFactory;
import io.jmesh.proxy.router.FilterConfigParser;

/**
 * The immutable registry of HTTP filter factories, keyed by Envoy filter name and by config type URL
 * (a filter may be named either way, as in Envoy). An unknown filter is a config error unless the
 * filter is marked {@code is_optional}; the chain must end with the router. Also parses route-specific
 * filter configs ({@code typed_per_filter_config}) for {@link io.jmesh.proxy.router.RouteTable}.
 */
public final class HttpFilterRegistry implements FilterConfigParser {

    private static final Logger logger = LoggerFactory.getLogger(HttpFilterRegistry.class);

    /**
     * The filters this proxy ships (fault, CORS, router), then those found with {@link ServiceLoader} on the
     * class path; a loaded factory whose name or type URL is already taken is skipped with a warning.
     */
    public static final HttpFilterRegistry DEFAULT = new HttpFilterRegistry(withLoaded(List.of(
            new FaultFilterFactory(), new CorsFilterFactory(),
            new io.jmesh.proxy.filter.ratelimit.LocalRateLimitFilterFactory(),
            new io.jmesh.proxy.filter.ratelimit.RateLimitFilterFactory(), new RouterFilterFactory())));

    private static final String FILTER_CONFIG_TYPE_URL =
            EnvoyTypes.typeUrl(io.envoyproxy.envoy.config.route.v3.FilterConfig.getDescriptor());

    private final Map<String, HttpFilterFactory> byName = new HashMap<>();
    private final Map<String, HttpFilterFactory> byTypeUrl = new HashMap<>();

    public HttpFilterRegistry(List<HttpFilterFactory> factories) {
        for (HttpFilterFactory f : factories) {
            String typeUrl = EnvoyTypes.typeUrl(f.configType());
            if (byName.containsKey(f.name()) || byTypeUrl.containsKey(typeUrl)) {
                logger.warn("HTTP filter factory {} ({}) skipped: {} or {} is already registered",
                        f.getClass().getName(), f.name(), f.name(), typeUrl);
                continue;
            }
            byName.put(f.name(), f);
            byTypeUrl.put(typeUrl, f);
        }
    }

    private static List<HttpFilterFactory> withLoaded(List<HttpFilterFactory> builtIn) {
        List<HttpFilterFactory> all = new ArrayList<>(builtIn);
        for (HttpFilterFactory f : ServiceLoader.load(HttpFilterFactory.class, HttpFilterRegistry.class.getClassLoader())) {
            all.add(f);
        }
        return all;
    }

    /** Builds the per-stream factories of a filter chain; {@code path} prefixes error messages. */
    public List<HttpFilterFactory.PerStream> build(List<HttpFilter> filters, String path,
                                                   HttpFilterFactory.Context context) throws ConfigException {
        List<HttpFilterFactory.PerStream> out = new ArrayList<>();
        if (filters.isEmpty()) {
            throw new ConfigException(path + ": [] (expected: a chain ending with envoy.filters.http.router)");
        }
        for (int i = 0; i < filters.size(); i++) {
            HttpFilter f = filters.get(i);
            String at = path + "[" + i + "]";
            Any cfg = f.hasTypedConfig() ? f.getTypedConfig() : null;
            HttpFilterFactory factory = cfg != null ? byTypeUrl.get(cfg.getTypeUrl()) : null;
            if (factory == null) {
                factory = byName.get(f.getName());
            }
            if (factory == null) {
                if (f.getIsOptional()) {
                    continue;
                }
                throw new ConfigException(at + ".name: " + f.getName()
                        + (cfg != null ? " (" + cfg.getTypeUrl() + ")" : "")
                        + " (expected: a supported HTTP filter: " + byName.keySet() + ")");
            }
            boolean last = i == filters.size() - 1;
            if (factory.terminal() != last) {
                throw new ConfigException(at + ".name: " + f.getName() + (last
                        ? " (expected: the last filter to be envoy.filters.http.router)"
                        : " (expected: the router to be the last filter)"));
            }
            try {
                HttpFilterFactory.PerStream ps = factory.create(cfg == null ? Any.getDefaultInstance() : cfg, context);
                if (ps != null) {
                    out.add(ps);
                }
            } catch (ConfigException e) {
                throw e.under(at + ".typed_config");
            }
        }
        return List.copyOf(out);
    }

    /**
     * Parses a {@code typed_per_filter_config} entry: the filter is found by the config's type URL, else by
     * {@code filterName}. An {@code envoy.config.route.v3.FilterConfig} wrapper is unwrapped; with
     * {@code is_optional} an unknown filter is ignored (null), else it is an error, as in Envoy.
     */
    @Override
    public Object parse(String filterName, Any config, String path) throws ConfigException {
        Any cfg = config;
        boolean optional = false;
        if (FILTER_CONFIG_TYPE_URL.equals(cfg.getTypeUrl())) {
            io.envoyproxy.envoy.config.route.v3.FilterConfig fc = HttpFilterFactory.unpack(cfg,
                    io.envoyproxy.envoy.config.route.v3.FilterConfig.class,
                    io.envoyproxy.envoy.config.route.v3.FilterConfig.getDescriptor());
            if (fc.getDisabled()) {
                throw new ConfigException(path + ".disabled: true (expected: false; disabling a filter per route"
                        + " is not supported)");
            }
            optional = fc.getIsOptional();
            cfg = fc.getConfig();
            path = path + ".config";
        }
        HttpFilterFactory factory = byTypeUrl.get(cfg.getTypeUrl());
        if (factory == null) {
            factory = byName.get(filterName);
        }
        if (factory == null) {
            if (optional) {
                return null;
            }
            throw new ConfigException(path + ": " + cfg.getTypeUrl() + " (expected: the config of a supported"
                    + " HTTP filter: " + byName.keySet() + ")");
        }
        try {
            return factory.createRouteConfig(cfg);
        } catch (ConfigException e) {
            throw e.under(path);
        }
    }
}
