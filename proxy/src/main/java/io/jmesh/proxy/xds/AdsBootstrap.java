package io.jmesh.proxy.xds;

import java.util.Map;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.AggregatedConfigSource;
import io.envoyproxy.envoy.config.core.v3.ApiConfigSource;
import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import io.envoyproxy.envoy.config.core.v3.GrpcService;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.jmesh.proxy.config.ConfigException;

/**
 * Reads and writes the {@code dynamic_resources} part of an Envoy bootstrap that points a proxy at an ADS
 * server, as Istio's pilot-agent writes it:
 *
 * <pre>
 * dynamic_resources:
 *   ads_config:
 *     api_type: GRPC
 *     transport_api_version: V3
 *     grpc_services: [{envoy_grpc: {cluster_name: xds-grpc}}]
 *   cds_config: {ads: {}, resource_api_version: V3}
 *   lds_config: {ads: {}, resource_api_version: V3}
 * static_resources:
 *   clusters: [{name: xds-grpc, type: STATIC, load_assignment: ... 127.0.0.1:15010 ...}]
 * </pre>
 */
public final class AdsBootstrap {

    /** The name Istio gives the static cluster of the xDS server. */
    public static final String XDS_CLUSTER = "xds-grpc";

    /** The name Istio gives the static cluster of the node agent's SDS server. */
    public static final String SDS_CLUSTER = "sds-grpc";

    private AdsBootstrap() {}

    /**
     * Returns the {@code host:port} of the ADS server named by {@code dynamic_resources.ads_config}: the first
     * endpoint of the static cluster of {@code grpc_services[0].envoy_grpc.cluster_name}, or
     * {@code google_grpc.target_uri}.
     *
     * @throws ConfigException if dynamic_resources asks for something this proxy does not do (REST, delta,
     *                         a non-ADS lds/cds config source, an unknown cluster)
     */
    public static String adsTarget(Bootstrap b) throws ConfigException {
        var dr = b.getDynamicResources();
        String p = "dynamic_resources";
        for (var e : Map.of("lds_config", dr.getLdsConfig(), "cds_config", dr.getCdsConfig()).entrySet()) {
            ConfigSource cs = e.getValue();
            if (!cs.equals(ConfigSource.getDefaultInstance()) && !cs.hasAds()) {
                throw new ConfigException(p + "." + e.getKey() + ": " + cs.getConfigSourceSpecifierCase()
                        + " (expected: ads: {})");
            }
        }
        if (!dr.hasAdsConfig()) {
            throw new ConfigException(p + ".ads_config: (expected: an api_config_source with api_type GRPC)");
        }
        ApiConfigSource ads = dr.getAdsConfig();
        if (ads.getApiType() != ApiConfigSource.ApiType.GRPC) {
            throw new ConfigException(p + ".ads_config.api_type: " + ads.getApiType()
                    + " (expected: GRPC; this proxy speaks state-of-the-world ADS)");
        }
        if (ads.getGrpcServicesCount() < 1) {
            throw new ConfigException(p + ".ads_config.grpc_services: [] (expected: one gRPC service)");
        }
        GrpcService gs = ads.getGrpcServices(0);
        String gp = p + ".ads_config.grpc_services[0]";
        if (gs.hasGoogleGrpc()) {
            String uri = gs.getGoogleGrpc().getTargetUri();
            if (uri.isEmpty()) {
                throw new ConfigException(gp + ".google_grpc.target_uri: \"\" (expected: host:port)");
            }
            return uri;
        }
        String name = gs.getEnvoyGrpc().getClusterName();
        for (Cluster c : b.getStaticResources().getClustersList()) {
            if (!c.getName().equals(name)) {
                continue;
            }
            for (LocalityLbEndpoints l : c.getLoadAssignment().getEndpointsList()) {
                for (LbEndpoint e : l.getLbEndpointsList()) {
                    if (e.getEndpoint().getAddress().hasSocketAddress()) {
                        SocketAddress sa = e.getEndpoint().getAddress().getSocketAddress();
                        String host = sa.getAddress().contains(":") ? "[" + sa.getAddress() + "]" : sa.getAddress();
                        return host + ":" + sa.getPortValue();
                    }
                }
            }
            throw new ConfigException("static_resources.clusters[" + name + "].load_assignment: "
                    + "(expected: an endpoint with a socket_address for the ADS server)");
        }
        throw new ConfigException(gp + ".envoy_grpc.cluster_name: " + name + " (expected: the name of a static cluster)");
    }

    /**
     * Builds the bootstrap of {@code jmesh proxy --discovery-address HOST:PORT --node-id ID}: the xDS cluster,
     * {@code dynamic_resources} over ADS, the node (id, cluster {@code <name>.<namespace>} taken from a
     * {@code sidecar~IP~name.ns~...} id, metadata with {@code NAMESPACE} from the id unless given, and
     * {@code LABELS} as a struct) and the admin interface on {@code adminPort} of 127.0.0.1 (0 = any port).
     *
     * @param metadata string metadata (e.g. {@code CLUSTER_ID}, {@code GENERATOR})
     * @param labels   the workload's labels, sent as metadata {@code LABELS}
     */
    public static Bootstrap forDiscovery(String host, int port, String nodeId, Map<String, String> metadata,
                                         Map<String, String> labels, int adminPort) {
        Struct.Builder md = Struct.newBuilder();
        metadata.forEach((k, v) -> md.putFields(k, Value.newBuilder().setStringValue(v).build()));
        String cluster = nodeId;
        String[] parts = nodeId.split("~", -1);
        if (parts.length == 4) {
            cluster = parts[2];
            int dot = parts[2].indexOf('.');
            String ns = dot < 0 ? "default" : parts[2].substring(dot + 1);
            if (!md.containsFields("NAMESPACE")) {
                md.putFields("NAMESPACE", Value.newBuilder().setStringValue(ns).build());
            }
        }
        if (!labels.isEmpty()) {
            Struct.Builder ls = Struct.newBuilder();
            labels.forEach((k, v) -> ls.putFields(k, Value.newBuilder().setStringValue(v).build()));
            md.putFields("LABELS", Value.newBuilder().setStructValue(ls).build());
        }
        Cluster xds = Cluster.newBuilder().setName(XDS_CLUSTER)
                .setType(host.matches("[0-9.]+|.*:.*") ? Cluster.DiscoveryType.STATIC : Cluster.DiscoveryType.STRICT_DNS)
                .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(1))
                .setLoadAssignment(ClusterLoadAssignment.newBuilder().setClusterName(XDS_CLUSTER)
                        .addEndpoints(LocalityLbEndpoints.newBuilder().addLbEndpoints(LbEndpoint.newBuilder()
                                .setEndpoint(Endpoint.newBuilder().setAddress(address(host, port))))))
                .build();
        ConfigSource ads = ConfigSource.newBuilder().setAds(AggregatedConfigSource.getDefaultInstance())
                .setResourceApiVersion(io.envoyproxy.envoy.config.core.v3.ApiVersion.V3).build();
        return Bootstrap.newBuilder()
                .setNode(Node.newBuilder().setId(nodeId).setCluster(cluster).setMetadata(md))
                .setStaticResources(Bootstrap.StaticResources.newBuilder().addClusters(xds))
                .setDynamicResources(Bootstrap.DynamicResources.newBuilder()
                        .setAdsConfig(ApiConfigSource.newBuilder().setApiType(ApiConfigSource.ApiType.GRPC)
                                .setTransportApiVersion(io.envoyproxy.envoy.config.core.v3.ApiVersion.V3)
                                .addGrpcServices(GrpcService.newBuilder().setEnvoyGrpc(
                                        GrpcService.EnvoyGrpc.newBuilder().setClusterName(XDS_CLUSTER))))
                        .setCdsConfig(ads).setLdsConfig(ads))
                .setAdmin(io.envoyproxy.envoy.config.bootstrap.v3.Admin.newBuilder().setAddress(address("127.0.0.1",
                        adminPort)))
                .build();
    }

    /**
     * Adds Istio's {@code sds-grpc} static cluster to {@code b}: HTTP/2 to the node agent's SDS server on the Unix
     * domain socket {@code socket}, so that secrets with {@code sds_config: {api_config_source: {api_type: GRPC,
     * grpc_services: [{envoy_grpc: {cluster_name: sds-grpc}}]}}} ({@code default}, {@code ROOTCA}) come from it.
     * A bootstrap that already has a cluster of that name is returned as it is.
     */
    public static Bootstrap withSdsCluster(Bootstrap b, java.nio.file.Path socket) {
        for (Cluster c : b.getStaticResources().getClustersList()) {
            if (c.getName().equals(SDS_CLUSTER)) {
                return b;
            }
        }
        var h2 = io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.newBuilder()
                .setExplicitHttpConfig(io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                        .ExplicitHttpConfig.newBuilder().setHttp2ProtocolOptions(
                                io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions.getDefaultInstance()))
                .build();
        Cluster sds = Cluster.newBuilder().setName(SDS_CLUSTER).setType(Cluster.DiscoveryType.STATIC)
                .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(1))
                .putTypedExtensionProtocolOptions("envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                        com.google.protobuf.Any.pack(h2))
                .setLoadAssignment(ClusterLoadAssignment.newBuilder().setClusterName(SDS_CLUSTER)
                        .addEndpoints(LocalityLbEndpoints.newBuilder().addLbEndpoints(LbEndpoint.newBuilder()
                                .setEndpoint(Endpoint.newBuilder().setAddress(Address.newBuilder().setPipe(
                                        io.envoyproxy.envoy.config.core.v3.Pipe.newBuilder()
                                                .setPath(socket.toString())))))))
                .build();
        Bootstrap.Builder out = b.toBuilder();
        out.getStaticResourcesBuilder().addClusters(sds);
        return out.build();
    }

    private static Address address(String host, int port) {
        return Address.newBuilder().setSocketAddress(SocketAddress.newBuilder().setAddress(host).setPortValue(port))
                .build();
    }
}
