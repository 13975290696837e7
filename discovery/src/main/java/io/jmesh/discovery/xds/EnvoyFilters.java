package io.jmesh.discovery.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.EnvoyFilter;
import io.jmesh.discovery.config.EnvoyFilterValidator;
import io.jmesh.discovery.config.Labels;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Applies Istio's {@code EnvoyFilter} patches to what the generators made for one proxy, after generation and before
 * sending, as istiod's {@code pilot/pkg/networking/core/envoyfilter} does:
 * <ul>
 *   <li>Which filters: those of the mesh's root namespace, then those of the proxy's namespace, whose
 *       {@code workloadSelector} (if any) selects the proxy's labels (a filter with {@code targetRefs} applies to no
 *       proxy, as in istiod); ordered by {@code priority}, then root namespace first, then creation time, then
 *       {@code name.namespace}. A patch applies when its {@code match.proxy} (an unanchored regular expression over
 *       the node's {@code ISTIO_VERSION}; a node without one never matches; and metadata equal) fits.</li>
 *   <li>The context of an object: a gateway's objects are {@code GATEWAY}; a sidecar's {@code virtualInbound} listener,
 *       its inline route configurations and its {@code inbound|...} clusters are {@code SIDECAR_INBOUND}; the rest
 *       {@code SIDECAR_OUTBOUND}. Proxyless gRPC clients are not patched (as istiod).</li>
 *   <li>Operations per object as istiod: listeners and filter chains MERGE, ADD, REMOVE; network and HTTP filters
 *       ADD, INSERT_BEFORE / INSERT_AFTER (after the first matching filter; without a filter match at the start / at
 *       the end), INSERT_FIRST, REPLACE, REMOVE, then MERGE (a {@code typed_config} merged with the filter's own when
 *       both have the same type); route configurations MERGE; virtual hosts MERGE, ADD, REMOVE, REPLACE; routes
 *       MERGE, ADD, REMOVE, INSERT_*; clusters MERGE (a {@code transport_socket} of the same name merged into the
 *       cluster's), ADD, REMOVE.</li>
 *   <li>MERGE is protobuf's merge (set scalars replace, messages merge, lists append, map entries replace), except
 *       that a {@code Duration} is replaced whole.</li>
 * </ul>
 * A patch whose value does not read as its object's type (validation lets through only what reads) is logged once
 * and skipped. Stateless and thread-safe.
 */
final class EnvoyFilters {

    private static final org.slf4j.Logger logger = org.slf4j.LoggerFactory.getLogger(EnvoyFilters.class);

    static final String ANY = "ANY";
    static final String SIDECAR_INBOUND = "SIDECAR_INBOUND";
    static final String SIDECAR_OUTBOUND = "SIDECAR_OUTBOUND";
    static final String GATEWAY = "GATEWAY";

    private static final String HCM = ListenerGenerator.HCM;
    /** Envoy's deprecated filter names that istiod still matches, by current name. */
    private static final Map<String, String> DEPRECATED_NAMES = Map.of(
            "envoy.filters.network.http_connection_manager", "envoy.http_connection_manager",
            "envoy.filters.network.tcp_proxy", "envoy.tcp_proxy",
            "envoy.filters.http.router", "envoy.router",
            "envoy.filters.http.cors", "envoy.cors",
            "envoy.filters.http.fault", "envoy.fault",
            "envoy.filters.http.lua", "envoy.lua");

    /** Problems already logged (a patch skipped), so that each shows once, not at every generation. */
    private static final Set<String> LOGGED = ConcurrentHashMap.newKeySet();

    private EnvoyFilters() {}

    /** One patch ready to apply: its object kind, match, operation and value ({@code null} for REMOVE). */
    record Patch(String owner, String applyTo, EnvoyFilter.EnvoyConfigObjectMatch match, String operation,
                 Message value) {

        String context() {
            return match == null || match.context() == null ? ANY : match.context();
        }

        EnvoyFilter.ListenerMatch listener() {
            return match == null ? null : match.listener();
        }

        EnvoyFilter.RouteConfigurationMatch routeConfiguration() {
            return match == null ? null : match.routeConfiguration();
        }

        EnvoyFilter.ClusterMatch cluster() {
            return match == null ? null : match.cluster();
        }

        boolean contextMatches(String objectContext) {
            return context().equals(ANY) || context().equals(objectContext);
        }
    }

    /** Returns whether some EnvoyFilter selects workloads by labels (then a proxy's labels shape its resources). */
    static boolean selectByLabels(MeshSnapshot snapshot) {
        for (Config<EnvoyFilter> c : snapshot.config().<EnvoyFilter>of(ConfigKind.ENVOY_FILTER)) {
            if (c.spec().workloadSelector() != null) {
                return true;
            }
        }
        return false;
    }

    /**
     * The node metadata keys that some EnvoyFilter's {@code match.proxy} reads ({@code ISTIO_VERSION} for
     * {@code proxyVersion}): a proxy's values of these shape its resources.
     */
    static Set<String> metadataKeys(MeshSnapshot snapshot) {
        Set<String> keys = new java.util.TreeSet<>();
        for (Config<EnvoyFilter> c : snapshot.config().<EnvoyFilter>of(ConfigKind.ENVOY_FILTER)) {
            for (EnvoyFilter.EnvoyConfigObjectPatch p : c.spec().configPatches()) {
                if (p != null && p.match() != null && p.match().proxy() != null) {
                    if (p.match().proxy().proxyVersion() != null && !p.match().proxy().proxyVersion().isEmpty()) {
                        keys.add("ISTIO_VERSION");
                    }
                    keys.addAll(p.match().proxy().metadata().keySet());
                }
            }
        }
        return keys;
    }

    /** The patches that apply to {@code proxy}, by {@code applyTo}, each list in application order. */
    static Map<String, List<Patch>> select(ProxyNode proxy, MeshSnapshot snapshot) {
        Map<String, List<Patch>> out = new LinkedHashMap<>();
        if (proxy.type() == ProxyNode.Type.PROXYLESS_GRPC) {
            return out;
        }
        String root = snapshot.meshConfig().rootNamespace();
        List<Config<EnvoyFilter>> matched = new ArrayList<>();
        for (Config<EnvoyFilter> c : snapshot.config().<EnvoyFilter>of(ConfigKind.ENVOY_FILTER)) {
            String ns = c.meta().namespace();
            if (!ns.equals(root) && !ns.equals(proxy.namespace())) {
                continue;
            }
            EnvoyFilter ef = c.spec();
            if (!ef.targetRefs().isEmpty()) {
                continue;
            }
            if (ef.workloadSelector() != null && !Labels.selects(ef.workloadSelector().labels(), proxy.labels())) {
                continue;
            }
            matched.add(c);
        }
        matched.sort(Comparator.<Config<EnvoyFilter>>comparingInt(c -> c.spec().priority())
                .thenComparing(c -> !c.meta().namespace().equals(root))
                .thenComparing(c -> c.meta().creationTimestamp() == null ? Instant.EPOCH : c.meta().creationTimestamp())
                .thenComparing(c -> c.meta().name() + '.' + c.meta().namespace()));
        for (Config<EnvoyFilter> c : matched) {
            List<EnvoyFilter.EnvoyConfigObjectPatch> patches = c.spec().configPatches();
            for (int i = 0; i < patches.size(); i++) {
                EnvoyFilter.EnvoyConfigObjectPatch cp = patches.get(i);
                if (cp == null || cp.patch() == null || !proxyMatches(proxy, cp.match())) {
                    continue;
                }
                String where = c.meta().key() + " spec.configPatches[" + i + "]";
                Message value = null;
                if (cp.patch().value() != null && !"REMOVE".equals(cp.patch().operation())) {
                    try {
                        value = EnvoyFilterValidator.patchValue(cp.applyTo(), cp.patch().value(),
                                "spec.configPatches[" + i + "].patch.value", w -> { });
                    } catch (ConfigException | IllegalArgumentException e) {
                        logOnce(where + ": skipped, its value does not apply: " + e.getMessage());
                        continue;
                    }
                }
                out.computeIfAbsent(cp.applyTo(), k -> new ArrayList<>())
                        .add(new Patch(where, cp.applyTo(), cp.match(), cp.patch().operation(), value));
            }
        }
        return out;
    }

    private static boolean proxyMatches(ProxyNode proxy, EnvoyFilter.EnvoyConfigObjectMatch match) {
        if (match == null || match.proxy() == null) {
            return true;
        }
        String version = match.proxy().proxyVersion();
        if (version != null && !version.isEmpty()) {
            if (proxy.istioVersion().isEmpty() || !Pattern.compile(version).matcher(proxy.istioVersion()).find()) {
                return false;
            }
        }
        for (Map.Entry<String, String> e : match.proxy().metadata().entrySet()) {
            if (!e.getValue().equals(proxy.metadata().get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    private static void logOnce(String message) {
        if (LOGGED.size() < 10_000 && LOGGED.add(message)) {
            logger.warn("EnvoyFilter {}", message);
        }
    }

    /** Applies the patches of {@code proxy} to its resources of {@code typeUrl}; returns them by name. */
    static Map<String, Message> apply(String typeUrl, ProxyNode proxy, MeshSnapshot snapshot,
                                      Map<String, Message> resources) {
        if (!typeUrl.equals(TypeUrls.LISTENER) && !typeUrl.equals(TypeUrls.ROUTE)
                && !typeUrl.equals(TypeUrls.CLUSTER)) {
            return resources;
        }
        if (snapshot.config().of(ConfigKind.ENVOY_FILTER).isEmpty()) {
            return resources;
        }
        Map<String, List<Patch>> patches = select(proxy, snapshot);
        if (patches.isEmpty()) {
            return resources;
        }
        boolean gateway = proxy.type() == ProxyNode.Type.ROUTER;
        return switch (typeUrl) {
            case TypeUrls.LISTENER -> listeners(patches, gateway, resources);
            case TypeUrls.ROUTE -> routes(patches, gateway, resources);
            default -> clusters(patches, gateway, resources);
        };
    }

    private static List<Patch> of(Map<String, List<Patch>> patches, String applyTo) {
        return patches.getOrDefault(applyTo, List.of());
    }

    // ---- listeners

    private static Map<String, Message> listeners(Map<String, List<Patch>> patches, boolean gateway,
                                                  Map<String, Message> in) {
        Map<String, Message> out = new TreeMap<>();
        Map<String, Map<String, Listener>> groups = new LinkedHashMap<>();
        for (Map.Entry<String, Message> e : in.entrySet()) {
            String ctx = gateway ? GATEWAY : e.getKey().equals("virtualInbound") ? SIDECAR_INBOUND : SIDECAR_OUTBOUND;
            groups.computeIfAbsent(ctx, k -> new LinkedHashMap<>()).put(e.getKey(), (Listener) e.getValue());
        }
        List<String> contexts = gateway ? List.of(GATEWAY) : List.of(SIDECAR_INBOUND, SIDECAR_OUTBOUND);
        for (String ctx : contexts) {
            for (Listener l : groups.getOrDefault(ctx, Map.of()).values()) {
                Listener.Builder b = l.toBuilder();
                if (!patchListener(ctx, patches, b)) {
                    out.put(b.getName(), b.build());
                }
            }
        }
        for (String ctx : contexts) {
            for (Patch p : of(patches, "LISTENER")) {
                if (p.operation().equals("ADD") && p.contextMatches(ctx)) {
                    Listener l = (Listener) p.value();
                    if (l.getName().isEmpty()) {
                        logOnce(p.owner() + ": skipped, an added listener needs a name");
                    } else {
                        out.putIfAbsent(l.getName(), l);
                    }
                }
            }
        }
        return out;
    }

    /** Patches one listener; returns whether it is removed. */
    private static boolean patchListener(String ctx, Map<String, List<Patch>> patches, Listener.Builder l) {
        for (Patch p : of(patches, "LISTENER")) {
            if (!p.contextMatches(ctx) || !listenerMatch(l, p)) {
                continue;
            }
            if (p.operation().equals("REMOVE")) {
                return true;
            } else if (p.operation().equals("MERGE")) {
                merge(l, p.value());
            }
        }
        List<FilterChain> chains = new ArrayList<>();
        for (FilterChain fc : l.getFilterChainsList()) {
            FilterChain.Builder b = fc.toBuilder();
            if (!patchFilterChain(ctx, patches, l, b)) {
                chains.add(b.build());
            }
        }
        for (Patch p : of(patches, "FILTER_CHAIN")) {
            if (p.operation().equals("ADD") && p.contextMatches(ctx) && listenerMatch(l, p)) {
                chains.add((FilterChain) p.value());
            }
        }
        l.clearFilterChains().addAllFilterChains(chains);
        return false;
    }

    /** Patches one filter chain; returns whether it is removed. */
    private static boolean patchFilterChain(String ctx, Map<String, List<Patch>> patches, Listener.Builder l,
                                            FilterChain.Builder fc) {
        for (Patch p : of(patches, "FILTER_CHAIN")) {
            if (!p.contextMatches(ctx) || !listenerMatch(l, p) || !filterChainMatch(l, fc, p)) {
                continue;
            }
            if (p.operation().equals("REMOVE")) {
                return true;
            } else if (p.operation().equals("MERGE")) {
                FilterChain value = (FilterChain) p.value();
                if (value.hasTransportSocket()) {
                    TransportSocket ts = value.getTransportSocket();
                    if (fc.hasTransportSocket() && fc.getTransportSocket().getName().equals(ts.getName())) {
                        fc.setTransportSocket(mergeTransportSocket(p, fc.getTransportSocket(), ts));
                    } else {
                        fc.setTransportSocket(ts);
                    }
                    value = value.toBuilder().clearTransportSocket().build();
                }
                merge(fc, value);
            }
        }
        patchNetworkFilters(ctx, patches, l, fc);
        return false;
    }

    private static TransportSocket mergeTransportSocket(Patch p, TransportSocket dst, TransportSocket src) {
        if (!src.hasTypedConfig() || !dst.hasTypedConfig()) {
            return dst;
        }
        try {
            return dst.toBuilder().setTypedConfig(mergeAny(dst.getTypedConfig(), src.getTypedConfig())).build();
        } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
            logOnce(p.owner() + ": transport_socket not merged: " + e.getMessage());
            return dst;
        }
    }

    private static void patchNetworkFilters(String ctx, Map<String, List<Patch>> patches, Listener.Builder l,
                                            FilterChain.Builder fc) {
        List<Filter> filters = new ArrayList<>(fc.getFiltersList());
        for (Patch p : of(patches, "NETWORK_FILTER")) {
            if (!p.contextMatches(ctx) || !listenerMatch(l, p) || !filterChainMatch(l, fc, p)) {
                continue;
            }
            applyListOperation(filters, p.operation(), (Filter) p.value(), hasNetworkFilterMatch(p),
                    f -> networkFilterMatch(f.getName(), p), false);
        }
        for (int i = 0; i < filters.size(); i++) {
            Filter.Builder f = filters.get(i).toBuilder();
            for (Patch p : of(patches, "NETWORK_FILTER")) {
                if (p.operation().equals("MERGE") && p.contextMatches(ctx) && listenerMatch(l, p)
                        && filterChainMatch(l, fc, p) && networkFilterMatch(f.getName(), p) && f.hasTypedConfig()) {
                    Filter value = (Filter) p.value();
                    if (!value.getName().isEmpty()) {
                        f.setName(value.getName());
                    }
                    if (value.hasTypedConfig()) {
                        f.setTypedConfig(mergedTypedConfig(p, f.getName(), f.getTypedConfig(), value.getTypedConfig()));
                    }
                }
            }
            if (f.getName().equals(HCM) && f.hasTypedConfig()
                    && f.getTypedConfig().getTypeUrl().endsWith("/" + HttpConnectionManager.getDescriptor().getFullName())) {
                try {
                    HttpConnectionManager.Builder hcm = HttpConnectionManager.parseFrom(f.getTypedConfig().getValue())
                            .toBuilder();
                    patchHttpFilters(ctx, patches, l, fc, f.getName(), hcm);
                    if (hcm.hasRouteConfig()) {
                        RouteConfiguration.Builder rc = hcm.getRouteConfig().toBuilder();
                        patchRouteConfiguration(ctx, patches, rc);
                        hcm.setRouteConfig(rc);
                    }
                    f.setTypedConfig(Protos.any(hcm.build()));
                } catch (InvalidProtocolBufferException e) {
                    logOnce("listener " + l.getName() + ": HTTP connection manager not read: " + e.getMessage());
                }
            }
            filters.set(i, f.build());
        }
        fc.clearFilters().addAllFilters(filters);
    }

    /**
     * One list operation of a patch on a filter list, as istiod applies it: {@code ADD} appends; {@code INSERT_AFTER} /
     * {@code INSERT_BEFORE} go after / before the first filter {@code matches} selects (at the end / the start when the
     * patch names no filter, nowhere when it names one that is absent); {@code REPLACE} replaces the first match;
     * {@code REMOVE} removes every match; {@code INSERT_FIRST} goes first — for HTTP filters always
     * ({@code insertFirstAlways}), for network filters only when the named filter is present or none is named.
     * {@code MERGE} is applied per filter elsewhere.
     */
    static <T> void applyListOperation(List<T> filters, String operation, T value, boolean hasMatch,
                                               java.util.function.Predicate<T> matches, boolean insertFirstAlways) {
        int first = -1;
        for (int i = 0; i < filters.size(); i++) {
            if (matches.test(filters.get(i))) {
                first = i;
                break;
            }
        }
        boolean located = !hasMatch || first >= 0;
        switch (operation) {
            case "ADD" -> filters.add(value);
            case "INSERT_FIRST" -> {
                if (insertFirstAlways || located) {
                    filters.add(0, value);
                }
            }
            case "INSERT_AFTER" -> {
                if (located) {
                    filters.add(hasMatch ? first + 1 : filters.size(), value);
                }
            }
            case "INSERT_BEFORE" -> {
                if (located) {
                    filters.add(hasMatch ? first : 0, value);
                }
            }
            case "REPLACE" -> {
                if (hasMatch && first >= 0) {
                    filters.set(first, value);
                }
            }
            case "REMOVE" -> {
                if (hasMatch) {
                    filters.removeIf(matches);
                }
            }
            default -> { }
        }
    }

    private static void patchHttpFilters(String ctx, Map<String, List<Patch>> patches, Listener.Builder l,
                                         FilterChain.Builder fc, String filterName,
                                         HttpConnectionManager.Builder hcm) {
        List<HttpFilter> filters = new ArrayList<>(hcm.getHttpFiltersList());
        for (Patch p : of(patches, "HTTP_FILTER")) {
            if (!p.contextMatches(ctx) || !listenerMatch(l, p) || !filterChainMatch(l, fc, p)
                    || !networkFilterMatch(filterName, p)) {
                continue;
            }
            applyListOperation(filters, p.operation(), (HttpFilter) p.value(), hasHttpFilterMatch(p),
                    f -> httpFilterMatch(f.getName(), p), true);
        }
        for (int i = 0; i < filters.size(); i++) {
            HttpFilter.Builder f = filters.get(i).toBuilder();
            for (Patch p : of(patches, "HTTP_FILTER")) {
                if (p.operation().equals("MERGE") && p.contextMatches(ctx) && listenerMatch(l, p)
                        && filterChainMatch(l, fc, p) && networkFilterMatch(filterName, p)
                        && httpFilterMatch(f.getName(), p) && f.hasTypedConfig()) {
                    HttpFilter value = (HttpFilter) p.value();
                    if (!value.getName().isEmpty()) {
                        f.setName(value.getName());
                    }
                    if (value.hasTypedConfig()) {
                        f.setTypedConfig(mergedTypedConfig(p, f.getName(), f.getTypedConfig(), value.getTypedConfig()));
                    }
                }
            }
            filters.set(i, f.build());
        }
        hcm.clearHttpFilters().addAllHttpFilters(filters);
    }

    private static boolean listenerMatch(Listener.Builder l, Patch p) {
        EnvoyFilter.ListenerMatch m = p.listener();
        if (m == null) {
            return true;
        }
        if (m.name() != null && !m.name().isEmpty() && !m.name().equals(l.getName())) {
            return false;
        }
        // The port of the virtual listeners is matched in their filter chains (their destination_port).
        if (!p.applyTo().equals("LISTENER") && isVirtual(l)) {
            return true;
        }
        if (m.portNumber() != null && m.portNumber() != 0) {
            return l.getAddress().hasSocketAddress() && l.getAddress().getSocketAddress().getPortValue() == m.portNumber();
        }
        return true;
    }

    private static boolean isVirtual(Listener.Builder l) {
        return l.getName().equals("virtualInbound") || l.getName().equals("virtualOutbound");
    }

    private static boolean filterChainMatch(Listener.Builder l, FilterChain.Builder fc, Patch p) {
        EnvoyFilter.ListenerMatch m = p.listener();
        if (m == null) {
            return true;
        }
        io.envoyproxy.envoy.config.listener.v3.FilterChainMatch fcm = fc.getFilterChainMatch();
        if (isVirtual(l) && m.portNumber() != null && m.portNumber() > 0
                && fcm.getDestinationPort().getValue() != m.portNumber()) {
            return false;
        }
        EnvoyFilter.FilterChainMatch match = m.filterChain();
        if (match == null) {
            return true;
        }
        if (match.name() != null && !match.name().isEmpty() && !match.name().equals(fc.getName())) {
            return false;
        }
        if (match.sni() != null && !match.sni().isEmpty() && !fcm.getServerNamesList().contains(match.sni())) {
            return false;
        }
        if (match.transportProtocol() != null && !match.transportProtocol().isEmpty()
                && !match.transportProtocol().equals(fcm.getTransportProtocol())) {
            return false;
        }
        if (match.applicationProtocols() != null && !match.applicationProtocols().isEmpty()) {
            for (String proto : match.applicationProtocols().split(",")) {
                if (!fcm.getApplicationProtocolsList().contains(proto)) {
                    return false;
                }
            }
        }
        if (match.destinationPort() != null && match.destinationPort() > 0
                && (!fcm.hasDestinationPort() || fcm.getDestinationPort().getValue() != match.destinationPort())) {
            return false;
        }
        return true;
    }

    private static boolean hasNetworkFilterMatch(Patch p) {
        EnvoyFilter.ListenerMatch m = p.listener();
        return m != null && m.filterChain() != null && m.filterChain().filter() != null;
    }

    private static boolean networkFilterMatch(String filterName, Patch p) {
        if (!hasNetworkFilterMatch(p)) {
            return true;
        }
        return nameMatches(p.listener().filterChain().filter().name(), filterName);
    }

    private static boolean hasHttpFilterMatch(Patch p) {
        return hasNetworkFilterMatch(p) && p.listener().filterChain().filter().subFilter() != null;
    }

    private static boolean httpFilterMatch(String filterName, Patch p) {
        if (!hasHttpFilterMatch(p)) {
            return true;
        }
        return nameMatches(p.listener().filterChain().filter().subFilter().name(), filterName);
    }

    private static boolean nameMatches(String wanted, String actual) {
        return actual.equals(wanted) || (wanted != null && wanted.equals(DEPRECATED_NAMES.get(actual)));
    }

    // ---- routes

    private static Map<String, Message> routes(Map<String, List<Patch>> patches, boolean gateway,
                                               Map<String, Message> in) {
        Map<String, Message> out = new TreeMap<>();
        for (Message m : in.values()) {
            RouteConfiguration.Builder rc = ((RouteConfiguration) m).toBuilder();
            patchRouteConfiguration(gateway ? GATEWAY : SIDECAR_OUTBOUND, patches, rc);
            out.put(rc.getName(), rc.build());
        }
        return out;
    }

    private static void patchRouteConfiguration(String ctx, Map<String, List<Patch>> patches,
                                                RouteConfiguration.Builder rc) {
        for (Patch p : of(patches, "ROUTE_CONFIGURATION")) {
            if (p.operation().equals("MERGE") && p.contextMatches(ctx) && routeConfigurationMatch(ctx, rc, p)) {
                merge(rc, p.value());
            }
        }
        List<VirtualHost> hosts = new ArrayList<>();
        for (VirtualHost vh : rc.getVirtualHostsList()) {
            VirtualHost patched = patchVirtualHost(ctx, patches, rc, vh);
            if (patched != null) {
                hosts.add(patched);
            }
        }
        for (Patch p : of(patches, "VIRTUAL_HOST")) {
            if (p.operation().equals("ADD") && p.contextMatches(ctx) && routeConfigurationMatch(ctx, rc, p)) {
                hosts.add((VirtualHost) p.value());
            }
        }
        rc.clearVirtualHosts().addAllVirtualHosts(hosts);
    }

    /** Returns the patched virtual host, or null when removed. */
    private static VirtualHost patchVirtualHost(String ctx, Map<String, List<Patch>> patches,
                                                RouteConfiguration.Builder rc, VirtualHost vh) {
        VirtualHost.Builder b = vh.toBuilder();
        for (Patch p : of(patches, "VIRTUAL_HOST")) {
            if (!p.contextMatches(ctx) || !routeConfigurationMatch(ctx, rc, p) || !virtualHostMatch(b, p)) {
                continue;
            }
            switch (p.operation()) {
                case "REMOVE" -> {
                    return null;
                }
                case "MERGE" -> merge(b, p.value());
                case "REPLACE" -> b = ((VirtualHost) p.value()).toBuilder();
                default -> { }
            }
        }
        patchHttpRoutes(ctx, patches, rc, b);
        return b.build();
    }

    private static void patchHttpRoutes(String ctx, Map<String, List<Patch>> patches, RouteConfiguration.Builder rc,
                                        VirtualHost.Builder vh) {
        List<Route> routes = new ArrayList<>();
        for (Route r : vh.getRoutesList()) {
            Route.Builder b = r.toBuilder();
            boolean removed = false;
            for (Patch p : of(patches, "HTTP_ROUTE")) {
                if (!p.contextMatches(ctx) || !routeConfigurationMatch(ctx, rc, p) || !virtualHostMatch(vh, p)
                        || !routeMatch(b, p)) {
                    continue;
                }
                if (p.operation().equals("REMOVE")) {
                    removed = true;
                    break;
                } else if (p.operation().equals("MERGE")) {
                    merge(b, p.value());
                }
            }
            if (!removed) {
                routes.add(b.build());
            }
        }
        for (Patch p : of(patches, "HTTP_ROUTE")) {
            if (!p.contextMatches(ctx) || !routeConfigurationMatch(ctx, rc, p) || !virtualHostMatch(vh, p)) {
                continue;
            }
            Route value = (Route) p.value();
            boolean hasMatch = hasRouteMatch(p);
            int first = -1;
            for (int i = 0; i < routes.size(); i++) {
                if (routeMatch(routes.get(i).toBuilder(), p)) {
                    first = i;
                    break;
                }
            }
            switch (p.operation()) {
                case "ADD" -> routes.add(value);
                case "INSERT_AFTER" -> {
                    if (!hasMatch) {
                        routes.add(value);
                    } else if (first >= 0) {
                        routes.add(first + 1, value);
                    }
                }
                case "INSERT_BEFORE" -> {
                    if (!hasMatch) {
                        routes.add(0, value);
                    } else if (first >= 0) {
                        routes.add(first, value);
                    }
                }
                case "INSERT_FIRST" -> {
                    if (!hasMatch || first >= 0) {
                        routes.add(0, value);
                    }
                }
                default -> { }
            }
        }
        vh.clearRoutes().addAllRoutes(routes);
    }

    private static boolean routeConfigurationMatch(String ctx, RouteConfiguration.Builder rc, Patch p) {
        EnvoyFilter.RouteConfigurationMatch m = p.routeConfiguration();
        if (m == null) {
            return true;
        }
        if (m.name() != null && !m.name().isEmpty() && !m.name().equals(rc.getName())) {
            return false;
        }
        String name = rc.getName();
        if (!ctx.equals(GATEWAY)) {
            return m.portNumber() == null || m.portNumber() == 0 || m.portNumber() == sidecarRoutePort(name);
        }
        // Gateway route names: http.<port>, or https.<port>.<port name>.<gateway>.<namespace>.
        String[] parts = name.split("\\.");
        int port = 0;
        String portName = "";
        String gatewayName = "";
        if (name.startsWith("http.") && parts.length >= 2) {
            port = parseInt(parts[1]);
        } else if (name.startsWith("https.") && parts.length >= 5) {
            port = parseInt(parts[1]);
            portName = parts[2];
            gatewayName = parts[4] + '/' + parts[3];
        }
        if (m.portName() != null && !m.portName().isEmpty() && !m.portName().equals(portName)) {
            return false;
        }
        if (m.gateway() != null && !m.gateway().isEmpty() && !m.gateway().equals(gatewayName)) {
            return false;
        }
        return m.portNumber() == null || m.portNumber() == 0 || m.portNumber() == port;
    }

    /** The port of a sidecar's route configuration: {@code <port>}, or the port of {@code inbound|<port>|...}. */
    private static int sidecarRoutePort(String name) {
        if (name.startsWith("inbound|")) {
            String[] parts = name.split("\\|", -1);
            return parts.length >= 2 ? parseInt(parts[1]) : 0;
        }
        return parseInt(name);
    }

    private static int parseInt(String s) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static boolean virtualHostMatch(VirtualHost.Builder vh, Patch p) {
        EnvoyFilter.RouteConfigurationMatch m = p.routeConfiguration();
        if (m == null || m.vhost() == null) {
            return true;
        }
        EnvoyFilter.VirtualHostMatch v = m.vhost();
        return (v.name() == null || v.name().isEmpty() || v.name().equals(vh.getName()))
                && (v.domainName() == null || v.domainName().isEmpty() || vh.getDomainsList().contains(v.domainName()));
    }

    private static boolean hasRouteMatch(Patch p) {
        EnvoyFilter.RouteConfigurationMatch m = p.routeConfiguration();
        return m != null && m.vhost() != null && m.vhost().route() != null;
    }

    private static boolean routeMatch(Route.Builder r, Patch p) {
        if (!hasRouteMatch(p)) {
            return true;
        }
        EnvoyFilter.RouteMatch m = p.routeConfiguration().vhost().route();
        if (m.name() != null && !m.name().isEmpty() && !m.name().equals(r.getName())) {
            return false;
        }
        String action = m.action() == null ? "ANY" : m.action();
        return switch (action) {
            case "ROUTE" -> r.hasRoute();
            case "REDIRECT" -> r.hasRedirect();
            case "DIRECT_RESPONSE" -> r.hasDirectResponse();
            default -> true;
        };
    }

    // ---- clusters

    private static Map<String, Message> clusters(Map<String, List<Patch>> patches, boolean gateway,
                                                 Map<String, Message> in) {
        Map<String, Message> out = new TreeMap<>();
        for (Message m : in.values()) {
            Cluster.Builder c = ((Cluster) m).toBuilder();
            String ctx = gateway ? GATEWAY : c.getName().startsWith("inbound|") ? SIDECAR_INBOUND : SIDECAR_OUTBOUND;
            boolean removed = false;
            for (Patch p : of(patches, "CLUSTER")) {
                if (!p.contextMatches(ctx) || !clusterMatch(c, p)) {
                    continue;
                }
                if (p.operation().equals("REMOVE")) {
                    removed = true;
                    break;
                } else if (p.operation().equals("MERGE")) {
                    mergeCluster(p, c);
                }
            }
            if (!removed) {
                out.put(c.getName(), c.build());
            }
        }
        Set<String> added = new HashSet<>();
        for (Patch p : of(patches, "CLUSTER")) {
            if (!p.operation().equals("ADD")) {
                continue;
            }
            // As istiod: an added cluster without a context goes to sidecars' outbound and gateways.
            boolean applies = gateway ? p.contextMatches(GATEWAY)
                    : p.context().equals(ANY) || p.context().equals(SIDECAR_OUTBOUND)
                    || p.context().equals(SIDECAR_INBOUND);
            Cluster c = (Cluster) p.value();
            if (applies && added.add(c.getName())) {
                if (c.getName().isEmpty()) {
                    logOnce(p.owner() + ": skipped, an added cluster needs a name");
                } else {
                    out.putIfAbsent(c.getName(), c);
                }
            }
        }
        return out;
    }

    private static void mergeCluster(Patch p, Cluster.Builder c) {
        Cluster value = (Cluster) p.value();
        if (!value.hasTransportSocket()) {
            merge(c, value);
            return;
        }
        TransportSocket ts = value.getTransportSocket();
        if (c.getTransportSocketMatchesCount() > 0) {
            // A transport_socket beside transport_socket_matches would be invalid: merge into the match of the same
            // name, or drop the patch (istiod).
            for (int i = 0; i < c.getTransportSocketMatchesCount(); i++) {
                Cluster.TransportSocketMatch tsm = c.getTransportSocketMatches(i);
                if (tsm.hasTransportSocket() && tsm.getTransportSocket().getName().equals(ts.getName())) {
                    c.setTransportSocketMatches(i, tsm.toBuilder()
                            .setTransportSocket(mergeTransportSocket(p, tsm.getTransportSocket(), ts)));
                    return;
                }
            }
            return;
        }
        if (c.hasTransportSocket() && c.getTransportSocket().getName().equals(ts.getName())) {
            c.setTransportSocket(mergeTransportSocket(p, c.getTransportSocket(), ts));
        } else {
            c.setTransportSocket(ts);
        }
    }

    private static boolean clusterMatch(Cluster.Builder c, Patch p) {
        EnvoyFilter.ClusterMatch m = p.cluster();
        if (m == null) {
            return true;
        }
        if (m.name() != null && !m.name().isEmpty()) {
            return m.name().equals(c.getName());
        }
        // direction|port|subset|host
        String[] parts = c.getName().split("\\|", -1);
        String subset = parts.length == 4 ? parts[2] : "";
        String host = parts.length == 4 ? parts[3] : "";
        int port = parts.length == 4 ? parseInt(parts[1]) : 0;
        if (m.subset() != null && !m.subset().isEmpty() && !m.subset().equals(subset)) {
            return false;
        }
        if (m.service() != null && !m.service().isEmpty() && !m.service().equals(host)) {
            return false;
        }
        return m.portNumber() == null || m.portNumber() == 0 || m.portNumber() == port;
    }

    // ---- merge

    /**
     * Merges {@code src} into {@code dst} as protobuf's merge does, except that a {@code google.protobuf.Duration}
     * is replaced whole (istiod's {@code merge.Merge}).
     */
    static void merge(Message.Builder dst, Message src) {
        for (Map.Entry<FieldDescriptor, Object> e : src.getAllFields().entrySet()) {
            FieldDescriptor f = e.getKey();
            if (f.isRepeated()) {
                for (Object v : (List<?>) e.getValue()) {
                    dst.addRepeatedField(f, v);
                }
            } else if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE
                    && !f.getMessageType().getFullName().equals("google.protobuf.Duration")
                    && dst.hasField(f)) {
                Message.Builder sub = ((Message) dst.getField(f)).toBuilder();
                merge(sub, (Message) e.getValue());
                dst.setField(f, sub.build());
            } else {
                dst.setField(f, e.getValue());
            }
        }
    }

    /**
     * Merges the message in {@code src} into the one in {@code dst} (istiod's {@code MergeAnyWithAny}).
     *
     * @throws IllegalArgumentException when the two are of different types, or of a type the proxy does not know
     */
    /** A filter's {@code typed_config} with a MERGE patch's merged in; unchanged (logged once) when they don't merge. */
    private static Any mergedTypedConfig(Patch p, String filterName, Any current, Any patch) {
        try {
            return mergeAny(current, patch);
        } catch (InvalidProtocolBufferException | IllegalArgumentException e) {
            logOnce(p.owner() + ": typed_config of " + filterName + " not merged: " + e.getMessage());
            return current;
        }
    }

    static Any mergeAny(Any dst, Any src) throws InvalidProtocolBufferException {
        if (!dst.getTypeUrl().equals(src.getTypeUrl())) {
            throw new IllegalArgumentException("@type " + src.getTypeUrl() + " (expected: " + dst.getTypeUrl() + ")");
        }
        String name = dst.getTypeUrl().substring(dst.getTypeUrl().lastIndexOf('/') + 1);
        Descriptor d = EnvoyTypes.REGISTRY.find(name);
        if (d == null) {
            throw new IllegalArgumentException("@type " + dst.getTypeUrl() + " (expected: a type the proxy knows)");
        }
        DynamicMessage.Builder b = DynamicMessage.newBuilder(d).mergeFrom(dst.getValue());
        merge(b, DynamicMessage.parseFrom(d, src.getValue()));
        return Any.newBuilder().setTypeUrl(dst.getTypeUrl()).setValue(b.build().toByteString()).build();
    }
}
