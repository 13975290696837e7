package io.jmesh.proxy.testing;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.jmesh.proxy.config.ConfigException;

/**
 * Builds an Envoy bootstrap for tests instead of YAML copied into every class (Envoy's {@code ConfigHelper}):
 * an admin on port 0, one listener {@code http} on port 0 of 127.0.0.1 with an HTTP connection manager
 * (stat prefix {@code ingress}, router filter), one virtual host {@code *}, and STATIC clusters on 127.0.0.1.
 *
 * <pre>{@code
 * ProxyFixture proxy = Bootstraps.http()
 *         .hcm("request_timeout", "1s")
 *         .route("/", "backend")
 *         .cluster("backend", backend.port())
 *         .start();
 * }</pre>
 *
 * Option values are YAML flow values ({@code "1s"}, {@code "{ max_headers_count: 20 }"}), placed as they are.
 */
public final class Bootstraps {

    private String codecType = "AUTO";
    private final Map<String, String> hcmOptions = new LinkedHashMap<>();
    private final List<String> routes = new ArrayList<>();
    private final List<String> clusters = new ArrayList<>();

    private Bootstraps() {}

    /** A listener with an HTTP connection manager and nothing routed yet. */
    public static Bootstraps http() {
        return new Bootstraps();
    }

    /** {@code codec_type}: AUTO (the default), HTTP1 or HTTP2. */
    public Bootstraps codec(String codecType) {
        this.codecType = codecType;
        return this;
    }

    /** Sets a field of the HttpConnectionManager, e.g. {@code hcm("request_headers_timeout", "0.5s")}. */
    public Bootstraps hcm(String field, String flowValue) {
        hcmOptions.put(field, flowValue);
        return this;
    }

    /** Routes a path prefix to a cluster. */
    public Bootstraps route(String prefix, String cluster) {
        return routeYaml("{ match: { prefix: \"" + prefix + "\" }, route: { cluster: " + cluster + " } }");
    }

    /** Adds a route given as one YAML flow mapping ({@code { match: ..., route: ... } }). */
    public Bootstraps routeYaml(String flowRoute) {
        routes.add(flowRoute);
        return this;
    }

    /** An HTTP/1.1 cluster with one endpoint at 127.0.0.1:port. */
    public Bootstraps cluster(String name, int port) {
        return clusterYaml(name, port, "");
    }

    /** An HTTP/2 (h2c prior knowledge) cluster with one endpoint at 127.0.0.1:port. */
    public Bootstraps http2Cluster(String name, int port) {
        return clusterYaml(name, port, """
                    typed_extension_protocol_options:
                      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                        explicit_http_config: { http2_protocol_options: {} }
                """);
    }

    /** A cluster with extra fields, given as YAML lines indented by four spaces. */
    public Bootstraps clusterYaml(String name, int port, String extraFields) {
        clusters.add("  - name: " + name + "\n"
                + "    connect_timeout: 1s\n"
                + "    type: STATIC\n"
                + extraFields
                + "    load_assignment:\n"
                + "      cluster_name: " + name + "\n"
                + "      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address:"
                + " { address: 127.0.0.1, port_value: " + port + " } } } }] }]\n");
        return this;
    }

    /** The bootstrap YAML. */
    public String build() {
        StringBuilder b = new StringBuilder();
        b.append("admin:\n  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }\n");
        b.append("static_resources:\n  listeners:\n  - name: http\n");
        b.append("    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }\n");
        b.append("    filter_chains:\n    - filters:\n");
        b.append("      - name: envoy.filters.network.http_connection_manager\n");
        b.append("        typed_config:\n");
        String ind = "          ";
        b.append(ind).append("\"@type\": type.googleapis.com/envoy.extensions.filters.network.")
                .append("http_connection_manager.v3.HttpConnectionManager\n");
        b.append(ind).append("stat_prefix: ingress\n");
        b.append(ind).append("codec_type: ").append(codecType).append('\n');
        hcmOptions.forEach((k, v) -> b.append(ind).append(k).append(": ").append(v).append('\n'));
        b.append(ind).append("route_config:\n");
        b.append(ind).append("  name: local\n");
        b.append(ind).append("  virtual_hosts:\n");
        b.append(ind).append("  - name: all\n");
        b.append(ind).append("    domains: [\"*\"]\n");
        b.append(ind).append("    routes:\n");
        for (String r : routes) {
            b.append(ind).append("    - ").append(r).append('\n');
        }
        b.append(ind).append("http_filters:\n");
        b.append(ind).append("- name: envoy.filters.http.router\n");
        b.append(ind).append("  typed_config: { \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }\n");
        b.append("  clusters:\n");
        clusters.forEach(b::append);
        return b.toString();
    }

    /** Starts a proxy from {@link #build()} with one event loop. */
    public ProxyFixture start() throws ConfigException, InterruptedException {
        return ProxyFixture.start(build(), Map.of(), 1);
    }
}
