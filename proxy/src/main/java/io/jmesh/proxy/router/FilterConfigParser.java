package io.jmesh.proxy.router;

import com.google.protobuf.Any;

import io.jmesh.proxy.config.ConfigException;

/**
 * Parses the route-specific config of an HTTP filter ({@code typed_per_filter_config} of a route, virtual
 * host or route configuration) once, when a {@link RouteTable} is built; the result is what
 * {@link RouteEntry#perFilterConfig(String)} returns to the filter on every request.
 * Implemented by {@code io.jmesh.proxy.filter.HttpFilterRegistry}.
 */
@FunctionalInterface
public interface FilterConfigParser {

    /** Ignores every {@code typed_per_filter_config} (for tables whose routes run no HTTP filters). */
    FilterConfigParser NONE = (name, config, path) -> null;

    /**
     * Returns the parsed config of filter {@code filterName}, or null to ignore it (an unknown filter
     * whose config is wrapped in an {@code envoy.config.route.v3.FilterConfig} with {@code is_optional}).
     *
     * @throws ConfigException with a message relative to {@code path} when the config is invalid or the
     *         filter unknown
     */
    Object parse(String filterName, Any config, String path) throws ConfigException;
}
