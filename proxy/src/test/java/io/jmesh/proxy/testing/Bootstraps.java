package io.jmesh.proxy.testing;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.extension.ExtensionRegistry;

/**
 * Builds an Envoy bootstrap for tests instead of YAML copied into every class (Envoy's {@code ConfigHelper}):
 * an admin on port 0, one listener on port 0 of 127.0.0.1 whose filter chain ends in one terminal network filter,
 * and STATIC clusters on 127.0.0.1. The terminal filter is an HTTP connection manager ({@link #http()}: listener
 * {@code http}, stat prefix {@code ingress}, the router as the last HTTP filter), a TCP proxy ({@link #tcp}:
 * listener and stat prefix {@code tcp}) or jmesh's RPC proxy ({@link #rpc}: listener and stat prefix {@code rpc}).
 * The HTTP and RPC proxies route by virtual hosts (one {@code *} host unless declared). A listener with several
 * filter chains is {@link #multiChain} with a builder per chain ({@link #filterChain}, {@link #defaultFilterChain}).
 *
 * <pre>{@code
 * ProxyFixture proxy = Bootstraps.http()
 *         .hcm("request_timeout", "1s")
 *         .route("/", "backend")
 *         .cluster("backend", backend.port())
 *         .start();
 * }</pre>
 *
 * Option values are YAML flow values ({@code "1s"}, {@code "{ max_headers_count: 20 }"}), placed as they are;
 * {@link #typed} writes the {@code "@type"} of a typed config.
 */
public final class Bootstraps {

    private static final String TYPE_URL = "type.googleapis.com/";
    private static final String HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

    /** The listener's terminal network filter. */
    private enum Kind { HTTP, TCP, RPC, NONE }

    private final Kind kind;
    private String listenerName;
    private String statPrefix;
    private String codecType = "AUTO";
    private String downstreamTls;
    private String transportSocket;
    private final Map<String, String> filterOptions = new LinkedHashMap<>();
    private final List<String> accessLogs = new ArrayList<>();
    private final List<String> networkFilters = new ArrayList<>();
    private final List<String> httpFilters = new ArrayList<>();
    private final List<VirtualHost> virtualHosts = new ArrayList<>();
    private final Map<String, Cluster> clusters = new LinkedHashMap<>();
    private final Map<String, String> topLevel = new LinkedHashMap<>();
    private final Map<String, String> listenerOptions = new LinkedHashMap<>();
    private final List<String> listenerFilters = new ArrayList<>();
    private String chainMatch;
    private final List<Bootstraps> moreChains = new ArrayList<>();
    private Bootstraps defaultChain;

    private record VirtualHost(String name, List<String> domains, List<String> routes) {}

    /** A cluster: its endpoints' addresses as YAML flow values, and its other fields. */
    private record Cluster(String name, List<String> addresses, Map<String, String> options) {}

    private Bootstraps(Kind kind, String name) {
        this.kind = kind;
        this.listenerName = name;
        this.statPrefix = kind == Kind.HTTP ? "ingress" : name;
    }

    /** A listener with an HTTP connection manager and nothing routed yet. */
    public static Bootstraps http() {
        return new Bootstraps(Kind.HTTP, "http");
    }

    /** A listener with a TCP proxy to {@code cluster}. */
    public static Bootstraps tcp(String cluster) {
        return new Bootstraps(Kind.TCP, "tcp").option("cluster", cluster);
    }

    /** A listener whose filter chains all come from {@link #filterChain} and {@link #defaultFilterChain}. */
    public static Bootstraps multiChain(String listenerName) {
        return new Bootstraps(Kind.NONE, listenerName);
    }

    /** A listener with jmesh's RPC proxy ({@code jmesh.filters.network.rpc_proxy}) for this protocol, nothing routed. */
    public static Bootstraps rpc(String protocol) {
        return new Bootstraps(Kind.RPC, "rpc").option("protocol", protocol);
    }

    /**
     * A typed config as a YAML flow mapping: {@code typed("envoy.extensions.filters.http.fault.v3.HTTPFault",
     * "abort: { http_status: 503 }")} is {@code { "@type": type.googleapis.com/..., abort: { http_status: 503 } }}.
     */
    public static String typed(String type, String flowFields) {
        return "{ \"@type\": " + TYPE_URL + type + (flowFields.isEmpty() ? "" : ", " + flowFields) + " }";
    }

    /**
     * A typed config wrapped in an {@code xds.type.v3.TypedStruct}: {@code typedStruct("test.jmesh.ByteCounter",
     * "{ stat_prefix: counted }")}.
     */
    public static String typedStruct(String type, String flowValue) {
        return typed("xds.type.v3.TypedStruct", "type_url: " + TYPE_URL + type + ", value: " + flowValue);
    }

    /** The listener's name ({@code http} by default), as {@link ProxyFixture#port(String)} finds it. */
    public Bootstraps listener(String name) {
        this.listenerName = name;
        return this;
    }

    /** The terminal filter's {@code stat_prefix} ({@code ingress} for HTTP, else the listener's first name). */
    public Bootstraps statPrefix(String prefix) {
        this.statPrefix = prefix;
        return this;
    }

    /** {@code codec_type}: AUTO (the default), HTTP1 or HTTP2. */
    public Bootstraps codec(String codecType) {
        this.codecType = codecType;
        return this;
    }

    /** Sets a field of the HttpConnectionManager, e.g. {@code hcm("request_headers_timeout", "0.5s")}. */
    public Bootstraps hcm(String field, String flowValue) {
        return option(field, flowValue);
    }

    /** Sets a field of the terminal filter's config, e.g. {@code option("idle_timeout", "0.3s")} on a TCP proxy. */
    public Bootstraps option(String field, String flowValue) {
        filterOptions.put(field, flowValue);
        return this;
    }

    /** A listener filter, with its typed config (null: none). */
    public Bootstraps listenerFilter(String name, String typedConfig) {
        listenerFilters.add("{ name: " + name + (typedConfig == null ? "" : ", typed_config: " + typedConfig) + " }");
        return this;
    }

    /** Sets a field of the listener, e.g. {@code listenerOption("listener_filters_timeout", "0.2s")}. */
    public Bootstraps listenerOption(String field, String flowValue) {
        listenerOptions.put(field, flowValue);
        return this;
    }

    /** The {@code filter_chain_match} of this builder's own filter chain (none by default). */
    public Bootstraps match(String flowMatch) {
        this.chainMatch = flowMatch;
        return this;
    }

    /**
     * Adds a filter chain to the listener: {@code chain}'s own (its terminal filter, TLS, routes, filters) with this
     * {@code filter_chain_match}; its clusters join this bootstrap's. Its listener, admin and top-level fields are
     * not used.
     */
    public Bootstraps filterChain(String flowMatch, Bootstraps chain) {
        moreChains.add(chain.match(flowMatch));
        clusters.putAll(chain.clusters);
        return this;
    }

    /** The listener's {@code default_filter_chain}: {@code chain}'s own, as in {@link #filterChain}. */
    public Bootstraps defaultFilterChain(Bootstraps chain) {
        this.defaultChain = chain;
        clusters.putAll(chain.clusters);
        return this;
    }

    /** Sets a top-level field of the bootstrap, e.g. {@code bootstrap("node", "{ id: a, cluster: b }")}. */
    public Bootstraps bootstrap(String field, String flowValue) {
        topLevel.put(field, flowValue);
        return this;
    }

    /**
     * The filter chain's {@code transport_socket}, any kind, as one flow mapping ({@code { name: ..., typed_config:
     * ... }}); replaces {@link #downstreamTlsContext}.
     */
    public Bootstraps transportSocket(String flowTransportSocket) {
        this.transportSocket = flowTransportSocket;
        return this;
    }

    /** Terminates TLS on the listener with a DownstreamTlsContext of these fields ({@code common_tls_context: ...}). */
    public Bootstraps downstreamTlsContext(String flowFields) {
        this.downstreamTls = typed("envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext", flowFields);
        return this;
    }

    /** Terminates TLS on the listener with this certificate and key, offering these ALPN protocols. */
    public Bootstraps downstreamTls(Path certificateChain, Path privateKey, String... alpn) {
        StringBuilder fields = new StringBuilder("common_tls_context: { ");
        if (alpn.length > 0) {
            fields.append("alpn_protocols: ").append(quotedList(alpn)).append(", ");
        }
        fields.append("tls_certificates: [{ certificate_chain: { filename: \"").append(certificateChain)
                .append("\" }, private_key: { filename: \"").append(privateKey).append("\" } }] }");
        return downstreamTlsContext(fields.toString());
    }

    /** A file access log of the HTTP or RPC proxy in Envoy's default format. */
    public Bootstraps accessLog(Path path) {
        accessLogs.add("path: \"" + path + "\"");
        return this;
    }

    /** A file access log with a text format ({@code %RESPONSE_CODE% ...}; a newline is added at the end). */
    public Bootstraps accessLog(Path path, String textFormat) {
        accessLogs.add("path: \"" + path + "\", log_format: { text_format_source: { inline_string: \""
                + textFormat.replace("\\", "\\\\").replace("\"", "\\\"") + "\\n\" } }");
        return this;
    }

    /** A network filter before the terminal one, with its typed config (null: none). */
    public Bootstraps networkFilter(String name, String typedConfig) {
        networkFilters.add("{ name: " + name + (typedConfig == null ? "" : ", typed_config: " + typedConfig) + " }");
        return this;
    }

    /** An HTTP filter before the router, with its typed config (see {@link #typed}). */
    public Bootstraps httpFilter(String name, String typedConfig) {
        httpFilters.add("{ name: " + name + ", typed_config: " + typedConfig + " }");
        return this;
    }

    /** As {@link #httpFilter} with {@code is_optional: true}. */
    public Bootstraps optionalHttpFilter(String name, String typedConfig) {
        httpFilters.add("{ name: " + name + ", is_optional: true, typed_config: " + typedConfig + " }");
        return this;
    }

    /** Starts a virtual host; the routes added after it are its own. Without one, a host {@code all} takes "*". */
    public Bootstraps virtualHost(String name, String... domains) {
        virtualHosts.add(new VirtualHost(name, List.of(domains), new ArrayList<>()));
        return this;
    }

    /** Routes a path prefix to a cluster. */
    public Bootstraps route(String prefix, String cluster) {
        return routeYaml("{ match: { prefix: \"" + prefix + "\" }, route: { cluster: " + cluster + " } }");
    }

    /** Routes a path prefix to a cluster with a per-route config for one HTTP filter (see {@link #typed}). */
    public Bootstraps route(String prefix, String cluster, String filter, String typedConfig) {
        return routeYaml("{ match: { prefix: \"" + prefix + "\" }, route: { cluster: " + cluster + " },"
                + " typed_per_filter_config: { " + filter + ": " + typedConfig + " } }");
    }

    /** Adds a route given as one YAML flow mapping ({@code { match: ..., route: ... } }). */
    public Bootstraps routeYaml(String flowRoute) {
        if (virtualHosts.isEmpty()) {
            virtualHost("all", "*");
        }
        virtualHosts.get(virtualHosts.size() - 1).routes().add(flowRoute);
        return this;
    }

    /** An HTTP/1.1 cluster with an endpoint at 127.0.0.1 for each port (none: a cluster without endpoints). */
    public Bootstraps cluster(String name, int... ports) {
        List<String> addresses = new ArrayList<>();
        for (int port : ports) {
            addresses.add("{ socket_address: { address: 127.0.0.1, port_value: " + port + " } }");
        }
        clusters.put(name, new Cluster(name, addresses, new LinkedHashMap<>()));
        return this;
    }

    /** A cluster with one endpoint on a Unix domain socket (a {@code pipe} address). */
    public Bootstraps pipeCluster(String name, Path socket) {
        clusters.put(name, new Cluster(name, List.of("{ pipe: { path: \"" + socket + "\" } }"), new LinkedHashMap<>()));
        return this;
    }

    /** An HTTP/2 (h2c prior knowledge) cluster with one endpoint at 127.0.0.1:port. */
    public Bootstraps http2Cluster(String name, int port) {
        return cluster(name, port).httpProtocolOptions(name, "explicit_http_config: { http2_protocol_options: {} }");
    }

    /**
     * Sets a field of a cluster added before, e.g. {@code clusterOption("b", "lb_policy", "MAGLEV")}
     * ({@code connect_timeout} is 1s unless set).
     */
    public Bootstraps clusterOption(String cluster, String field, String flowValue) {
        Cluster c = clusters.get(cluster);
        if (c == null) {
            throw new IllegalArgumentException("no cluster " + cluster);
        }
        c.options().put(field, flowValue);
        return this;
    }

    /** The cluster's {@code circuit_breakers} with one thresholds entry, e.g. {@code "max_requests: 1"}. */
    public Bootstraps circuitBreakers(String cluster, String flowThresholds) {
        return clusterOption(cluster, "circuit_breakers", "{ thresholds: [{ " + flowThresholds + " }] }");
    }

    /** The cluster's {@code outlier_detection}, e.g. {@code "consecutive_5xx: 3, interval: 0.05s"}. */
    public Bootstraps outlierDetection(String cluster, String flowFields) {
        return clusterOption(cluster, "outlier_detection", "{ " + flowFields + " }");
    }

    /** The cluster's upstream {@code HttpProtocolOptions} fields, e.g. {@code "explicit_http_config: {...}"}. */
    public Bootstraps httpProtocolOptions(String cluster, String flowFields) {
        return clusterOption(cluster, "typed_extension_protocol_options",
                "{ " + HTTP_PROTOCOL_OPTIONS + ": " + typed(HTTP_PROTOCOL_OPTIONS, flowFields) + " }");
    }

    /** TLS to the cluster's endpoints with this SNI, trusting this CA certificate. */
    public Bootstraps upstreamTls(String cluster, String sni, Path trustedCa) {
        return upstreamTlsContext(cluster, "sni: " + sni + ", common_tls_context: { validation_context: "
                + "{ trusted_ca: { filename: \"" + trustedCa + "\" } } }");
    }

    /** TLS to the cluster's endpoints with an UpstreamTlsContext of these fields ({@code common_tls_context: ...}). */
    public Bootstraps upstreamTlsContext(String cluster, String flowFields) {
        return clusterOption(cluster, "transport_socket", "{ name: envoy.transport_sockets.tls, typed_config: "
                + typed("envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext", flowFields) + " }");
    }

    /** The bootstrap YAML; throws IllegalStateException for a part a chain's terminal filter does not take. */
    public String build() {
        StringBuilder b = new StringBuilder();
        b.append("admin:\n  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }\n");
        topLevel.forEach((k, v) -> b.append(k).append(": ").append(v).append('\n'));
        b.append("static_resources:\n  listeners:\n  - name: ").append(listenerName).append('\n');
        b.append("    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }\n");
        listenerOptions.forEach((k, v) -> b.append("    ").append(k).append(": ").append(v).append('\n'));
        if (!listenerFilters.isEmpty()) {
            b.append("    listener_filters:\n");
            listenerFilters.forEach(f -> b.append("    - ").append(f).append('\n'));
        }
        b.append("    filter_chains:\n");
        if (kind != Kind.NONE) {
            b.append(chain("    - "));
        }
        moreChains.forEach(c -> b.append(c.chain("    - ")));
        if (defaultChain != null) {
            b.append("    default_filter_chain:\n").append(defaultChain.chain("      "));
        }
        b.append(clusters.isEmpty() ? "  clusters: []\n" : "  clusters:\n");
        for (Cluster c : clusters.values()) {
            b.append("  - name: ").append(c.name()).append('\n');
            if (!c.options().containsKey("connect_timeout")) {
                b.append("    connect_timeout: 1s\n");
            }
            b.append("    type: STATIC\n");
            c.options().forEach((k, v) -> b.append("    ").append(k).append(": ").append(v).append('\n'));
            b.append("    load_assignment:\n");
            b.append("      cluster_name: ").append(c.name()).append('\n');
            if (!c.addresses().isEmpty()) {
                b.append("      endpoints:\n      - lb_endpoints:\n");
                for (String address : c.addresses()) {
                    b.append("        - endpoint: { address: ").append(address).append(" }\n");
                }
            }
        }
        return b.toString();
    }

    /** This builder's filter chain, its first line starting with {@code firstIndent} (six characters). */
    private String chain(String firstIndent) {
        if (kind != Kind.HTTP && (!httpFilters.isEmpty() || !codecType.equals("AUTO"))) {
            throw new IllegalStateException("HTTP filters and codec_type need Bootstraps.http()");
        }
        if (kind == Kind.NONE) {
            throw new IllegalStateException("a chain needs Bootstraps.http(), tcp(...) or rpc(...)");
        }
        if (kind == Kind.TCP && !virtualHosts.isEmpty()) {
            throw new IllegalStateException("routes need Bootstraps.http() or Bootstraps.rpc()");
        }
        StringBuilder b = new StringBuilder();
        if (chainMatch != null) {
            b.append("      filter_chain_match: ").append(chainMatch).append('\n');
        }
        if (transportSocket != null) {
            b.append("      transport_socket: ").append(transportSocket).append('\n');
        } else if (downstreamTls != null) {
            b.append("      transport_socket: { name: envoy.transport_sockets.tls, typed_config: ")
                    .append(downstreamTls).append(" }\n");
        }
        b.append("      filters:\n");
        for (String f : networkFilters) {
            b.append("      - ").append(f).append('\n');
        }
        String ind = "          ";
        switch (kind) {
            case HTTP -> {
                b.append("      - name: envoy.filters.network.http_connection_manager\n        typed_config:\n");
                b.append(ind).append("\"@type\": ").append(TYPE_URL)
                        .append("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager\n");
                b.append(ind).append("stat_prefix: ").append(statPrefix).append('\n');
                b.append(ind).append("codec_type: ").append(codecType).append('\n');
                appendOptionsAndRoutes(b, ind, "local");
                b.append(ind).append("http_filters:\n");
                for (String f : httpFilters) {
                    b.append(ind).append("- ").append(f).append('\n');
                }
                b.append(ind).append("- name: envoy.filters.http.router\n");
                b.append(ind).append("  typed_config: ")
                        .append(typed("envoy.extensions.filters.http.router.v3.Router", "")).append('\n');
            }
            case TCP -> {
                b.append("      - name: envoy.filters.network.tcp_proxy\n        typed_config:\n");
                b.append(ind).append("\"@type\": ").append(TYPE_URL)
                        .append("envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy\n");
                b.append(ind).append("stat_prefix: ").append(statPrefix).append('\n');
                filterOptions.forEach((k, v) -> b.append(ind).append(k).append(": ").append(v).append('\n'));
                appendAccessLogs(b, ind);
            }
            case NONE -> throw new AssertionError(kind);
            case RPC -> {
                b.append("      - name: jmesh.filters.network.rpc_proxy\n        typed_config:\n");
                b.append(ind).append("\"@type\": ").append(TYPE_URL).append("xds.type.v3.TypedStruct\n");
                b.append(ind).append("type_url: ").append(TYPE_URL).append("jmesh.filters.network.rpc_proxy.v1.RpcProxy\n");
                b.append(ind).append("value:\n");
                b.append(ind).append("  stat_prefix: ").append(statPrefix).append('\n');
                appendOptionsAndRoutes(b, ind + "  ", null);
            }
        }
        return firstIndent + b.substring(6);
    }

    /** The filter options, access logs and {@code route_config} (named unless {@code routeConfigName} is null). */
    private void appendOptionsAndRoutes(StringBuilder b, String ind, String routeConfigName) {
        filterOptions.forEach((k, v) -> b.append(ind).append(k).append(": ").append(v).append('\n'));
        appendAccessLogs(b, ind);
        b.append(ind).append("route_config:\n");
        if (routeConfigName != null) {
            b.append(ind).append("  name: ").append(routeConfigName).append('\n');
        }
        b.append(ind).append("  virtual_hosts:\n");
        for (VirtualHost vh : virtualHosts) {
            b.append(ind).append("  - name: ").append(vh.name()).append('\n');
            b.append(ind).append("    domains: ").append(quotedList(vh.domains().toArray(String[]::new))).append('\n');
            b.append(ind).append("    routes:\n");
            for (String r : vh.routes()) {
                b.append(ind).append("    - ").append(r).append('\n');
            }
        }
    }

    private void appendAccessLogs(StringBuilder b, String ind) {
        if (!accessLogs.isEmpty()) {
            b.append(ind).append("access_log:\n");
            for (String fields : accessLogs) {
                b.append(ind).append("- name: envoy.access_loggers.file\n");
                b.append(ind).append("  typed_config: ")
                        .append(typed("envoy.extensions.access_loggers.file.v3.FileAccessLog", fields)).append('\n');
            }
        }
    }

    /** Starts a proxy from {@link #build()} with one event loop. */
    public ProxyFixture start() throws ConfigException, InterruptedException {
        return start(1);
    }

    /** Starts a proxy from {@link #build()} with {@code workers} event loops. */
    public ProxyFixture start(int workers) throws ConfigException, InterruptedException {
        return ProxyFixture.start(build(), Map.of(), workers);
    }

    /** Starts a proxy from {@link #build()} with {@code workers} event loops and these extensions. */
    public ProxyFixture start(int workers, ExtensionRegistry extensions) throws ConfigException, InterruptedException {
        return ProxyFixture.start(build(), Map.of(), workers, extensions);
    }

    private static String quotedList(String... values) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < values.length; i++) {
            b.append(i == 0 ? "" : ", ").append('"').append(values[i]).append('"');
        }
        return b.append(']').toString();
    }
}
