package io.jmesh.proxy.xds;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.google.protobuf.Message;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.jmesh.proxy.config.EnvoyTypes;

/**
 * Writes the seed corpus of {@link DynamicConfigManagerFuzzTest} (in its input format) from YAML resources.
 * Run by hand: {@code java -cp <proxy test classpath> io.jmesh.proxy.xds.XdsFuzzSeeds <dir>}.
 */
final class XdsFuzzSeeds {

    static final String CLUSTER = """
            name: c
            type: STATIC
            connect_timeout: 0.25s
            lb_policy: RING_HASH
            outlier_detection: {consecutive_5xx: 3}
            circuit_breakers: {thresholds: [{max_connections: 10}]}
            load_assignment:
              cluster_name: c
              endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 9}}}}]}]
            """;
    static final String EDS_CLUSTER = """
            name: e
            type: EDS
            eds_cluster_config: {eds_config: {ads: {}}}
            """;
    static final String ASSIGNMENT = """
            cluster_name: e
            endpoints:
            - locality: {zone: z}
              load_balancing_weight: 1
              lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 9}}}, load_balancing_weight: 2}]
            """;
    static final String LISTENER = """
            name: l
            address: {socket_address: {address: 127.0.0.1, port_value: 15001}}
            filter_chains:
            - filter_chain_match: {destination_port: 15001, server_names: [a.example]}
              filters:
              - name: envoy.filters.network.tcp_proxy
                typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: t, cluster: c}
            default_filter_chain:
              filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                  stat_prefix: h
                  rds: {route_config_name: r, config_source: {ads: {}}}
                  http_filters:
                  - name: envoy.filters.http.router
                    typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
            """;
    static final String ROUTE = """
            name: r
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {prefix: /a, headers: [{name: x, string_match: {exact: y}}]}
                route: {weighted_clusters: {clusters: [{name: c, weight: 1}, {name: e, weight: 3}]}, timeout: 1s,
                        retry_policy: {retry_on: 5xx, num_retries: 2}}
              - match: {safe_regex: {regex: "^/b.*"}}
                route: {cluster: e, prefix_rewrite: /}
              - match: {prefix: /}
                direct_response: {status: 404}
            """;

    private XdsFuzzSeeds() {}

    static byte[] response(int type, Message... resources) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(type);
        out.write(resources.length);
        for (Message m : resources) {
            byte[] b = m.toByteArray();
            out.write(b.length >> 8);
            out.write(b.length & 0xff);
            out.writeBytes(b);
        }
        return out.toByteArray();
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Files.createDirectories(dir);
        Cluster c = EnvoyTypes.PARSER.parse(CLUSTER, Cluster.newBuilder()).build();
        Cluster e = EnvoyTypes.PARSER.parse(EDS_CLUSTER, Cluster.newBuilder()).build();
        ClusterLoadAssignment a = EnvoyTypes.PARSER.parse(ASSIGNMENT, ClusterLoadAssignment.newBuilder()).build();
        Listener l = EnvoyTypes.PARSER.parse(LISTENER, Listener.newBuilder()).build();
        RouteConfiguration r = EnvoyTypes.PARSER.parse(ROUTE, RouteConfiguration.newBuilder()).build();
        Files.write(dir.resolve("cds"), response(0, c, e));
        Files.write(dir.resolve("lds"), response(2, l));
        Files.write(dir.resolve("rds"), response(3, r));
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (byte[] b : List.of(response(0, c, e), response(1, a), response(2, l), response(3, r), response(2, l),
                                response(0, c))) {
            all.writeBytes(b);
        }
        Files.write(dir.resolve("cds-eds-lds-rds-update"), all.toByteArray());
    }
}
