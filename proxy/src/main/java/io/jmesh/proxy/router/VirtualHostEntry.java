package io.jmesh.proxy.router;

import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.jmesh.proxy.config.ConfigException;

/** One compiled {@code VirtualHost}: its routes in order. Immutable. */
final class VirtualHostEntry {

    final String name;
    private final DefaultRouteEntry[] routes;

    private VirtualHostEntry(String name, DefaultRouteEntry[] routes) {
        this.name = name;
        this.routes = routes;
    }

    static VirtualHostEntry create(VirtualHost vh, String path, HeaderMutations cfgRequest,
                                   HeaderMutations cfgResponse, boolean mostSpecificWins,
                                   FilterConfigParser filterConfigs, java.util.Map<String, Object> cfgFilters)
            throws ConfigException {
        if (vh.hasMatcher()) {
            throw new ConfigException(path + ".matcher: " + vh.getMatcher().getClass().getSimpleName()
                                      + " (expected: unset; use routes)");
        }
        RetryPolicy retry = null;
        if (vh.hasRetryPolicy()) {
            try {
                retry = RetryPolicy.from(vh.getRetryPolicy());
            } catch (ConfigException e) {
                throw e.under(path + ".retry_policy");
            }
        }
        final HeaderMutations vhRequest = HeaderMutations.from(
                vh.getRequestHeadersToAddList(), vh.getRequestHeadersToRemoveList(),
                path + ".request_headers_to_add", path + ".request_headers_to_remove");
        final HeaderMutations vhResponse = HeaderMutations.from(
                vh.getResponseHeadersToAddList(), vh.getResponseHeadersToRemoveList(),
                path + ".response_headers_to_add", path + ".response_headers_to_remove");
        final java.util.Map<String, Object> vhFilters = PerFilterConfigs.parse(filterConfigs,
                vh.getTypedPerFilterConfigMap(), cfgFilters, path + ".typed_per_filter_config");
        final java.util.List<RateLimitPolicy> vhRateLimits =
                RateLimitPolicy.fromList(vh.getRateLimitsList(), path + ".rate_limits");
        final DefaultRouteEntry[] routes = new DefaultRouteEntry[vh.getRoutesCount()];
        for (int i = 0; i < routes.length; i++) {
            final String rp = path + ".routes[" + i + ']';
            routes[i] = new DefaultRouteEntry(vh.getRoutes(i), rp, vh.getName(), retry,
                                              vhRequest, vhResponse, cfgRequest, cfgResponse, mostSpecificWins,
                                              PerFilterConfigs.parse(filterConfigs,
                                                      vh.getRoutes(i).getTypedPerFilterConfigMap(), vhFilters,
                                                      rp + ".typed_per_filter_config"));
            routes[i].virtualHostRateLimits = vhRateLimits;
        }
        return new VirtualHostEntry(vh.getName(), routes);
    }

    DefaultRouteEntry route(RequestView request) {
        for (DefaultRouteEntry r : routes) {
            if (r.matches(request)) {
                return r;
            }
        }
        return null;
    }
}
