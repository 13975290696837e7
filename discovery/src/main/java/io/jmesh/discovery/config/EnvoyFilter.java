package io.jmesh.discovery.config;

import java.util.List;
import java.util.Map;

/**
 * The spec of Istio's {@code EnvoyFilter} (networking.istio.io/v1alpha3): patches that discovery applies to the
 * Envoy resources it generates for the selected proxies (see {@code io.jmesh.discovery.xds.EnvoyFilters}). Scope: in
 * the mesh's root namespace, every proxy of the mesh; elsewhere, the proxies of that namespace; narrowed by
 * {@code workloadSelector} labels. Enum values ({@code applyTo}, {@code context}, {@code operation}, ...) are kept
 * as the strings the user wrote; {@link EnvoyFilterValidator} checks them. Immutable.
 *
 * @param priority the order among EnvoyFilters (lower first; default 0)
 * @see <a href="https://istio.io/latest/docs/reference/config/networking/envoy-filter/">EnvoyFilter</a>
 */
public record EnvoyFilter(ServiceEntry.WorkloadSelector workloadSelector,
                          List<RequestAuthentication.PolicyTargetReference> targetRefs,
                          List<EnvoyConfigObjectPatch> configPatches, Integer priority) {

    public EnvoyFilter {
        targetRefs = targetRefs == null ? List.of() : List.copyOf(targetRefs);
        configPatches = configPatches == null ? List.of() : java.util.Collections.unmodifiableList(
                new java.util.ArrayList<>(configPatches)); // may hold a null entry, which validation names
        priority = priority == null ? 0 : priority;
    }

    /** One patch: what it applies to, which objects it matches, and the change. */
    public record EnvoyConfigObjectPatch(String applyTo, EnvoyConfigObjectMatch match, Patch patch) {}

    /**
     * Which objects a patch applies to: the proxy's context, its version or metadata, and at most one of a listener,
     * route configuration or cluster match.
     */
    public record EnvoyConfigObjectMatch(String context, ProxyMatch proxy, ListenerMatch listener,
                                         RouteConfigurationMatch routeConfiguration, ClusterMatch cluster) {}

    /** A proxy's version (a regular expression over its {@code ISTIO_VERSION} metadata) and node metadata. */
    public record ProxyMatch(String proxyVersion, Map<String, String> metadata) {
        public ProxyMatch {
            metadata = metadata == null ? Map.of() : Map.copyOf(metadata);
        }
    }

    /** A listener by port or name, and in it a filter chain. */
    public record ListenerMatch(Integer portNumber, String portName, FilterChainMatch filterChain,
                                String listenerFilter, String name) {}

    /** A filter chain by name, SNI, transport and application protocols, destination port, and a filter in it. */
    public record FilterChainMatch(String name, String sni, String transportProtocol, String applicationProtocols,
                                   FilterMatch filter, Integer destinationPort) {}

    /** A network filter by name, and in an HTTP connection manager an HTTP filter by name. */
    public record FilterMatch(String name, SubFilterMatch subFilter) {}

    /** An HTTP filter by name. */
    public record SubFilterMatch(String name) {}

    /** A route configuration by port, gateway server port name, gateway, or name; and in it a virtual host. */
    public record RouteConfigurationMatch(Integer portNumber, String portName, String gateway,
                                          VirtualHostMatch vhost, String name) {}

    /** A virtual host by name or domain, and in it a route. */
    public record VirtualHostMatch(String name, String domainName, RouteMatch route) {}

    /** A route by name and by kind of action ({@code ANY}, {@code ROUTE}, {@code REDIRECT}, {@code DIRECT_RESPONSE}). */
    public record RouteMatch(String name, String action) {}

    /** A cluster by port, service host, subset, or name. */
    public record ClusterMatch(Integer portNumber, String service, String subset, String name) {}

    /**
     * The change: an operation, the value in Envoy's v3 JSON (an {@code Any} as {@code @type} plus fields), and for
     * HTTP filters added without a position a {@code filterClass}.
     */
    public record Patch(String operation, Map<String, Object> value, String filterClass) {}
}
