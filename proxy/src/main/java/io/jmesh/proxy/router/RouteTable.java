package io.jmesh.proxy.router;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.jmesh.proxy.config.ConfigException;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;

/**
 * An immutable route table compiled from Envoy's {@code RouteConfiguration}: it picks the virtual
 * host by the request's Host and then the first route whose match accepts the request. Build it off
 * the event loop with {@link #create(RouteConfiguration)}; {@link #route(HttpRequest)} is
 * lock-free, compiles nothing and may be called from any thread.
 *
 * <p>Virtual host selection follows Envoy: domains are compared case-insensitively; an exact
 * domain wins over the longest suffix wildcard ({@code *.example.com}, {@code *-bar.example.com}),
 * which wins over the longest prefix wildcard ({@code example.*}), which wins over {@code *}. A
 * wildcard never matches an empty remainder. The full Host value is tried first; when nothing but
 * {@code *} matches it and it carries a port, the host without the port is tried again.
 */
public final class RouteTable {

    private static final Logger logger = LoggerFactory.getLogger(RouteTable.class);

    /** Domains of one kind grouped by length, longest first, for wildcard lookup. */
    private static final class Wildcards {
        final int[] lengths;
        final Map<String, VirtualHostEntry>[] byLength;

        @SuppressWarnings({ "unchecked", "rawtypes" })
        Wildcards(TreeMap<Integer, Map<String, VirtualHostEntry>> map) {
            lengths = new int[map.size()];
            byLength = new Map[map.size()];
            int i = 0;
            for (Map.Entry<Integer, Map<String, VirtualHostEntry>> e : map.descendingMap().entrySet()) {
                lengths[i] = e.getKey();
                byLength[i] = Map.copyOf(e.getValue());
                i++;
            }
        }

        VirtualHostEntry findSuffix(String host) {
            for (int i = 0; i < lengths.length; i++) {
                final int len = lengths[i];
                if (len < host.length()) {
                    final VirtualHostEntry vh = byLength[i].get(host.substring(host.length() - len));
                    if (vh != null) {
                        return vh;
                    }
                }
            }
            return null;
        }

        VirtualHostEntry findPrefix(String host) {
            for (int i = 0; i < lengths.length; i++) {
                final int len = lengths[i];
                if (len < host.length()) {
                    final VirtualHostEntry vh = byLength[i].get(host.substring(0, len));
                    if (vh != null) {
                        return vh;
                    }
                }
            }
            return null;
        }
    }

    private final RouteConfiguration config;
    private final Map<String, VirtualHostEntry> exact;
    private final Wildcards suffixes;
    private final Wildcards prefixes;
    private final VirtualHostEntry defaultVirtualHost;

    private RouteTable(RouteConfiguration config, Map<String, VirtualHostEntry> exact, Wildcards suffixes,
                       Wildcards prefixes, VirtualHostEntry defaultVirtualHost) {
        this.config = config;
        this.exact = exact;
        this.suffixes = suffixes;
        this.prefixes = prefixes;
        this.defaultVirtualHost = defaultVirtualHost;
    }

    /**
     * Validates and compiles {@code config}. Every regex is compiled, every action checked (exactly
     * one of route, redirect, direct_response; weights summing to more than 0; ...), and match
     * features jmesh does not implement are rejected rather than ignored.
     *
     * @throws ConfigException naming the field path, e.g. {@code
     *         virtual_hosts[0].routes[2].match.safe_regex.regex: ( (expected: ...)}
     */
    public static RouteTable create(RouteConfiguration config) throws ConfigException {
        return create(config, FilterConfigParser.NONE);
    }

    /**
     * As {@link #create(RouteConfiguration)}, also parsing every {@code typed_per_filter_config} (of the
     * configuration, its virtual hosts and routes) with {@code filterConfigs}; a route sees the most
     * specific config of each filter (route, else virtual host, else route configuration), as in Envoy.
     */
    public static RouteTable create(RouteConfiguration config, FilterConfigParser filterConfigs)
            throws ConfigException {
        final Map<String, Object> cfgFilters = PerFilterConfigs.parse(filterConfigs,
                config.getTypedPerFilterConfigMap(), Map.of(), "typed_per_filter_config");
        final boolean mostSpecificWins = config.getMostSpecificHeaderMutationsWins();
        final HeaderMutations cfgRequest = HeaderMutations.from(
                config.getRequestHeadersToAddList(), config.getRequestHeadersToRemoveList(),
                "request_headers_to_add", "request_headers_to_remove");
        final HeaderMutations cfgResponse = HeaderMutations.from(
                config.getResponseHeadersToAddList(), config.getResponseHeadersToRemoveList(),
                "response_headers_to_add", "response_headers_to_remove");

        final Map<String, VirtualHostEntry> exact = new HashMap<>();
        final TreeMap<Integer, Map<String, VirtualHostEntry>> suffixes = new TreeMap<>();
        final TreeMap<Integer, Map<String, VirtualHostEntry>> prefixes = new TreeMap<>();
        final Map<String, String> seenDomains = new HashMap<>();
        final Map<String, Integer> seenNames = new HashMap<>();
        VirtualHostEntry defaultVh = null;

        for (int v = 0; v < config.getVirtualHostsCount(); v++) {
            final VirtualHost vh = config.getVirtualHosts(v);
            final String vp = "virtual_hosts[" + v + ']';
            if (vh.getName().isEmpty()) {
                throw new ConfigException(vp + ".name: \"\" (expected: non-empty)");
            }
            final Integer dup = seenNames.putIfAbsent(vh.getName(), v);
            if (dup != null) {
                throw new ConfigException(vp + ".name: " + vh.getName() + " (expected: unique, already used by"
                                          + " virtual_hosts[" + dup + "])");
            }
            final VirtualHostEntry entry = VirtualHostEntry.create(vh, vp, cfgRequest, cfgResponse, mostSpecificWins,
                                                                       filterConfigs, cfgFilters);
            if (vh.getDomainsCount() == 0) {
                throw new ConfigException(vp + ".domains: [] (expected: at least one domain)");
            }
            for (int d = 0; d < vh.getDomainsCount(); d++) {
                final String dp = vp + ".domains[" + d + ']';
                final String domain = vh.getDomains(d).toLowerCase(Locale.ROOT);
                if (domain.isEmpty()) {
                    throw new ConfigException(dp + ": \"\" (expected: a domain)");
                }
                final String prev = seenDomains.putIfAbsent(domain, dp);
                if (prev != null) {
                    throw new ConfigException(dp + ": " + vh.getDomains(d) + " (expected: unique, already in "
                                              + prev + ')');
                }
                if ("*".equals(domain)) {
                    defaultVh = entry;
                } else if (domain.charAt(0) == '*') {
                    final String suffix = domain.substring(1);
                    suffixes.computeIfAbsent(suffix.length(), k -> new HashMap<>()).put(suffix, entry);
                } else if (domain.charAt(domain.length() - 1) == '*') {
                    final String prefix = domain.substring(0, domain.length() - 1);
                    prefixes.computeIfAbsent(prefix.length(), k -> new HashMap<>()).put(prefix, entry);
                } else {
                    exact.put(domain, entry);
                }
            }
        }
        final RouteTable table = new RouteTable(config, Map.copyOf(exact), new Wildcards(suffixes),
                                                new Wildcards(prefixes), defaultVh);
        logger.debug("route table {}: {} virtual hosts compiled", config.getName(), config.getVirtualHostsCount());
        return table;
    }

    /** The configuration this table was built from. */
    public RouteConfiguration config() {
        return config;
    }

    /** {@code RouteConfiguration.name}. */
    public String name() {
        return config.getName();
    }

    /**
     * Returns the first route of the matching virtual host that matches the request, or null when
     * no virtual host or no route matches (the caller answers 404 with response flag NR). Reads the
     * request only.
     */
    public RouteEntry route(HttpRequest request) {
        return route(request, null);
    }

    /**
     * As {@link #route(HttpRequest)}, with the stream's dynamic metadata for routes that match on it
     * ({@code match.dynamic_metadata}); the supplier is only called when such a route is tried, and a null
     * supplier or map matches as an empty one.
     */
    public RouteEntry route(HttpRequest request,
                            java.util.function.Supplier<java.util.Map<String, com.google.protobuf.Struct>> dynamicMetadata) {
        final VirtualHostEntry vh = virtualHost(request.headers().get(HttpHeaderNames.HOST));
        if (vh == null) {
            return null;
        }
        return vh.route(new RequestView(request, dynamicMetadata));
    }

    /** The name of the virtual host that serves {@code host}, or null; for tests and debugging. */
    String virtualHostName(String host) {
        final VirtualHostEntry vh = virtualHost(host);
        return vh == null ? null : vh.name;
    }

    private VirtualHostEntry virtualHost(String host) {
        if (host == null) {
            host = "";
        }
        host = lower(host);
        VirtualHostEntry vh = findNonDefault(host);
        if (vh != null) {
            return vh;
        }
        final int colon = portColon(host);
        if (colon >= 0) {
            vh = findNonDefault(host.substring(0, colon));
            if (vh != null) {
                return vh;
            }
        }
        return defaultVirtualHost;
    }

    private VirtualHostEntry findNonDefault(String host) {
        VirtualHostEntry vh = exact.get(host);
        if (vh == null) {
            vh = suffixes.findSuffix(host);
            if (vh == null) {
                vh = prefixes.findPrefix(host);
            }
        }
        return vh;
    }

    /** The index of the ':' before a port, or -1; IPv6 literals are bracketed. */
    private static int portColon(String host) {
        final int colon = host.lastIndexOf(':');
        if (colon < 0) {
            return -1;
        }
        if (host.charAt(0) == '[') {
            return colon > 0 && host.charAt(colon - 1) == ']' ? colon : -1;
        }
        return host.indexOf(':') == colon ? colon : -1;
    }

    private static String lower(String s) {
        for (int i = 0; i < s.length(); i++) {
            final char c = s.charAt(i);
            if (c >= 'A' && c <= 'Z') {
                return s.toLowerCase(Locale.ROOT);
            }
        }
        return s;
    }

    @Override
    public String toString() {
        return "RouteTable{" + config.getName() + ", " + config.getVirtualHostsCount() + " virtual hosts}";
    }

}
