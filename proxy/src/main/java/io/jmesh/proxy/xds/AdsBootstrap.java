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

    /** The SNI and DNS SAN of the control plane's serving certificate, as Istio's bootstrap expects istiod's. */
    public static final String XDS_SNI = "istiod.istio-system.svc";

    private static final org.slf4j.Logger logger = org.slf4j.LoggerFactory.getLogger(AdsBootstrap.class);

    /**
     * How the ADS client reaches its server: gRPC channel credentials (insecure, or TLS verified against the
     * mesh root) and the authority to use instead of the target's (the SNI; gRPC checks the server certificate
     * against it), or null for the target's.
     */
    public record AdsTransport(io.grpc.ChannelCredentials credentials, String authority) {
        /** Plaintext, as without a {@code transport_socket}. */
        public static final AdsTransport PLAINTEXT = new AdsTransport(io.grpc.InsecureChannelCredentials.create(), null);

        /** Whether this transport is TLS. */
        public boolean tls() {
            return !(credentials instanceof io.grpc.InsecureChannelCredentials);
        }
    }

    /**
     * Returns how to reach the ADS server of {@link #adsTarget}: plaintext, or TLS when its static cluster has a
     * {@code transport_socket} {@code envoy.transport_sockets.tls} (an {@code UpstreamTlsContext} whose
     * {@code common_tls_context.validation_context} names the {@code trusted_ca}, optionally with
     * {@code match_typed_subject_alt_names}; {@code sni} becomes the authority), or when
     * {@code google_grpc.channel_credentials.ssl_credentials} names {@code root_certs}.
     *
     * @throws ConfigException naming the field when the TLS settings cannot be used (no trusted CA, a CA file that
     *                         cannot be read, a validation context from SDS, another transport socket)
     */
    public static AdsTransport adsTransport(Bootstrap b) throws ConfigException {
        var gs = b.getDynamicResources().getAdsConfig().getGrpcServices(0);
        if (gs.hasGoogleGrpc()) {
            var g = gs.getGoogleGrpc();
            String p = "dynamic_resources.ads_config.grpc_services[0].google_grpc.channel_credentials";
            if (!g.hasChannelCredentials() || g.getChannelCredentials().hasLocalCredentials()) {
                return AdsTransport.PLAINTEXT;
            }
            if (!g.getChannelCredentials().hasSslCredentials()) {
                throw new ConfigException(p + ": " + g.getChannelCredentials().getCredentialSpecifierCase()
                        + " (expected: ssl_credentials)");
            }
            var ssl = g.getChannelCredentials().getSslCredentials();
            if (!ssl.hasRootCerts()) {
                throw new ConfigException(p + ".ssl_credentials.root_certs: unset (expected: the mesh root)");
            }
            var v = io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext.newBuilder()
                    .setTrustedCa(ssl.getRootCerts()).build();
            return tls(v, p + ".ssl_credentials", null);
        }
        String name = gs.getEnvoyGrpc().getClusterName();
        for (int i = 0; i < b.getStaticResources().getClustersCount(); i++) {
            Cluster c = b.getStaticResources().getClusters(i);
            if (!c.getName().equals(name)) {
                continue;
            }
            String p = "static_resources.clusters[" + i + "].transport_socket";
            if (!c.hasTransportSocket()) {
                return AdsTransport.PLAINTEXT;
            }
            var ts = c.getTransportSocket();
            var upstream = io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.class;
            if (!ts.hasTypedConfig() || !ts.getTypedConfig().is(upstream)) {
                throw new ConfigException(p + ": " + (ts.hasTypedConfig() ? ts.getTypedConfig().getTypeUrl() : ts.getName())
                        + " (expected: envoy.transport_sockets.tls with an UpstreamTlsContext)");
            }
            io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext tls;
            try {
                tls = ts.getTypedConfig().unpack(upstream);
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                throw new ConfigException(p + ".typed_config: " + e.getMessage());
            }
            var common = tls.getCommonTlsContext();
            String cp = p + ".typed_config.common_tls_context";
            if (common.getTlsCertificatesCount() > 0 || common.getTlsCertificateSdsSecretConfigsCount() > 0) {
                logger.warn("{}: a client certificate for the xDS connection is not supported; ignored (the control "
                        + "plane authenticates proxies by node id)", cp);
            }
            if (common.hasValidationContextSdsSecretConfig() || common.hasCombinedValidationContext()) {
                throw new ConfigException(cp + ": validation context from SDS (expected: validation_context with "
                        + "trusted_ca: the xDS connection is made before any SDS)");
            }
            if (!common.hasValidationContext() || !common.getValidationContext().hasTrustedCa()) {
                throw new ConfigException(cp + ".validation_context.trusted_ca: unset (expected: the mesh root that "
                        + "signed the control plane's certificate)");
            }
            return tls(common.getValidationContext(), cp + ".validation_context", tls.getSni().isEmpty() ? null
                    : tls.getSni());
        }
        return AdsTransport.PLAINTEXT; // adsTarget has already refused an unknown cluster
    }

    private static AdsTransport tls(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext v,
                                    String path, String sni) throws ConfigException {
        javax.net.ssl.X509TrustManager tm = io.jmesh.proxy.tls.TlsContexts.upstreamTrustManager(v, path);
        if (v.getTrustedCa().hasFilename()) {
            tm = new ReloadingTrustManager(v, path, tm);
        }
        return new AdsTransport(io.grpc.TlsChannelCredentials.newBuilder().trustManager(tm).build(), sni);
    }

    /**
     * Reads a {@code trusted_ca} file again when its modification time or size changes (a root transition adds a
     * root to it), checked at each handshake; a file that cannot be used is logged and the previous roots stay.
     */
    private static final class ReloadingTrustManager extends javax.net.ssl.X509ExtendedTrustManager {
        private final io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext v;
        private final String path;
        private final java.nio.file.Path file;
        private volatile javax.net.ssl.X509ExtendedTrustManager delegate;
        private volatile java.util.List<Object> stamp;

        ReloadingTrustManager(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext v,
                              String path, javax.net.ssl.X509TrustManager first) {
            this.v = v;
            this.path = path;
            this.file = java.nio.file.Path.of(v.getTrustedCa().getFilename());
            this.delegate = (javax.net.ssl.X509ExtendedTrustManager) first;
            this.stamp = stamp();
        }

        private java.util.List<Object> stamp() {
            try {
                return java.util.List.of(java.nio.file.Files.getLastModifiedTime(file), java.nio.file.Files.size(file));
            } catch (java.io.IOException e) {
                return java.util.List.of("missing");
            }
        }

        private javax.net.ssl.X509ExtendedTrustManager current() {
            java.util.List<Object> now = stamp();
            if (!now.equals(stamp)) {
                synchronized (this) {
                    if (!now.equals(stamp)) {
                        stamp = now;
                        try {
                            delegate = (javax.net.ssl.X509ExtendedTrustManager)
                                    io.jmesh.proxy.tls.TlsContexts.upstreamTrustManager(v, path);
                            logger.info("{}.trusted_ca: {} reloaded", path, file);
                        } catch (ConfigException e) {
                            logger.error("{} (keeping the previous roots)", e.getMessage());
                        }
                    }
                }
            }
            return delegate;
        }

        @Override
        public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String authType,
                                       java.net.Socket socket) throws java.security.cert.CertificateException {
            current().checkClientTrusted(chain, authType, socket);
        }

        @Override
        public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String authType,
                                       java.net.Socket socket) throws java.security.cert.CertificateException {
            current().checkServerTrusted(chain, authType, socket);
        }

        @Override
        public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String authType,
                                       javax.net.ssl.SSLEngine engine) throws java.security.cert.CertificateException {
            current().checkClientTrusted(chain, authType, engine);
        }

        @Override
        public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String authType,
                                       javax.net.ssl.SSLEngine engine) throws java.security.cert.CertificateException {
            current().checkServerTrusted(chain, authType, engine);
        }

        @Override
        public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String authType)
                throws java.security.cert.CertificateException {
            current().checkClientTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String authType)
                throws java.security.cert.CertificateException {
            current().checkServerTrusted(chain, authType);
        }

        @Override
        public java.security.cert.X509Certificate[] getAcceptedIssuers() {
            return current().getAcceptedIssuers();
        }
    }

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
        return forDiscovery(host, port, nodeId, metadata, labels, adminPort, -1, null);
    }

    /**
     * As {@link #forDiscovery(String, int, String, Map, Map, int)}, with TLS to discovery's secure port (15012)
     * when {@code xdsRootCa} is not null, as Istio's bootstrap: the {@code xds-grpc} cluster gets a
     * {@code transport_socket} {@code envoy.transport_sockets.tls} with SNI {@value #XDS_SNI}, ALPN {@code h2},
     * {@code trusted_ca} the file {@code xdsRootCa} and a DNS SAN matcher for {@value #XDS_SNI}.
     */
    public static Bootstrap forDiscovery(String host, int port, String nodeId, Map<String, String> metadata,
                                         Map<String, String> labels, int adminPort, java.nio.file.Path xdsRootCa) {
        return forDiscovery(host, port, nodeId, metadata, labels, adminPort, -1, xdsRootCa);
    }

    /**
     * As above, with Istio's {@code stats_config} ({@link #istioStatsConfig()}) and, when {@code prometheusPort} is
     * not negative and {@code adminPort} is known (not 0), Istio's Prometheus listener: {@code prometheus_stats} on
     * 0.0.0.0:{@code prometheusPort} (15090 in Istio; 0 = any free port), an HTTP connection manager (stat prefix
     * {@code stats}) routing {@code /stats/prometheus} to the static cluster {@code prometheus_stats}, the admin
     * interface.
     */
    public static Bootstrap forDiscovery(String host, int port, String nodeId, Map<String, String> metadata,
                                         Map<String, String> labels, int adminPort, int prometheusPort) {
        return forDiscovery(host, port, nodeId, metadata, labels, adminPort, prometheusPort, null);
    }

    /** Both: Istio's Prometheus listener ({@code prometheusPort} >= 0) and TLS to discovery ({@code xdsRootCa}). */
    public static Bootstrap forDiscovery(String host, int port, String nodeId, Map<String, String> metadata,
                                         Map<String, String> labels, int adminPort, int prometheusPort,
                                         java.nio.file.Path xdsRootCa) {
        Bootstrap base = forDiscovery0(host, port, nodeId, metadata, labels, adminPort, xdsRootCa);
        if (prometheusPort < 0) {
            return base;
        }
        Bootstrap.Builder b = base.toBuilder().setStatsConfig(istioStatsConfig());
        if (adminPort > 0) {
            b.getStaticResourcesBuilder().addClusters(Cluster.newBuilder().setName(PROMETHEUS_STATS)
                    .setType(Cluster.DiscoveryType.STATIC)
                    .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setNanos(250_000_000))
                    .setLoadAssignment(ClusterLoadAssignment.newBuilder().setClusterName(PROMETHEUS_STATS)
                            .addEndpoints(LocalityLbEndpoints.newBuilder().addLbEndpoints(LbEndpoint.newBuilder()
                                    .setEndpoint(Endpoint.newBuilder().setAddress(address("127.0.0.1", adminPort)))))))
                    .addListeners(prometheusListener(prometheusPort));
        }
        return b.build();
    }

    /** The name of Istio's Prometheus listener and of its cluster (the admin interface). */
    public static final String PROMETHEUS_STATS = "prometheus_stats";

    /** Istio's Prometheus listener on {@code port} (see {@link #forDiscovery(String, int, String, Map, Map, int, int)}). */
    static io.envoyproxy.envoy.config.listener.v3.Listener prometheusListener(int port) {
        var hcm = io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                .newBuilder()
                .setStatPrefix("stats")
                .setCodecType(io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3
                        .HttpConnectionManager.CodecType.AUTO)
                .setRouteConfig(io.envoyproxy.envoy.config.route.v3.RouteConfiguration.newBuilder()
                        .addVirtualHosts(io.envoyproxy.envoy.config.route.v3.VirtualHost.newBuilder()
                                .setName("backend").addDomains("*")
                                .addRoutes(io.envoyproxy.envoy.config.route.v3.Route.newBuilder()
                                        .setMatch(io.envoyproxy.envoy.config.route.v3.RouteMatch.newBuilder()
                                                .setPrefix("/stats/prometheus"))
                                        .setRoute(io.envoyproxy.envoy.config.route.v3.RouteAction.newBuilder()
                                                .setCluster(PROMETHEUS_STATS)))))
                .addHttpFilters(io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter
                        .newBuilder().setName("envoy.filters.http.router")
                        .setTypedConfig(com.google.protobuf.Any.pack(
                                io.envoyproxy.envoy.extensions.filters.http.router.v3.Router.getDefaultInstance())))
                .build();
        return io.envoyproxy.envoy.config.listener.v3.Listener.newBuilder().setName(PROMETHEUS_STATS)
                .setAddress(address("0.0.0.0", port))
                .addFilterChains(io.envoyproxy.envoy.config.listener.v3.FilterChain.newBuilder()
                        .addFilters(io.envoyproxy.envoy.config.listener.v3.Filter.newBuilder()
                                .setName("envoy.filters.network.http_connection_manager")
                                .setTypedConfig(com.google.protobuf.Any.pack(hcm))))
                .build();
    }

    /**
     * Istio's {@code stats_config} (tools/packaging/common/envoy_bootstrap.json): {@code use_all_default_tags:
     * false} and its {@code stats_tags}, so {@code /stats/prometheus} labels {@code cluster_name} (an Istio cluster
     * name with its dots), {@code tcp_prefix}, {@code response_code}, {@code response_code_class},
     * {@code http_conn_manager_listener_prefix}, {@code http_conn_manager_prefix} and {@code listener_address}.
     */
    public static io.envoyproxy.envoy.config.metrics.v3.StatsConfig istioStatsConfig() {
        String[][] tags = {
            {"cluster_name", "^cluster\\.((.+?(\\..+?\\.svc\\.cluster\\.local)?)\\.)"},
            {"tcp_prefix", "^tcp\\.((.*?)\\.)\\w+?$"},
            {"response_code", "_rq(_(\\d{3}))$"},
            {"response_code_class", "_rq(_(\\dxx))$"},
            {"http_conn_manager_listener_prefix",
                "^listener(?=\\.).*?\\.http\\.(((?:[_.[:digit:]]*|[_\\[\\]aAbBcCdDeEfF[:digit:]]*))\\.)"},
            {"http_conn_manager_prefix", "^http\\.(((?:[_.[:digit:]]*|[_\\[\\]aAbBcCdDeEfF[:digit:]]*))\\.)"},
            {"listener_address", "^listener\\.(((?:[_.[:digit:]]*|[_\\[\\]aAbBcCdDeEfF[:digit:]]*))\\.)"},
        };
        var b = io.envoyproxy.envoy.config.metrics.v3.StatsConfig.newBuilder()
                .setUseAllDefaultTags(com.google.protobuf.BoolValue.of(false));
        for (String[] t : tags) {
            b.addStatsTags(io.envoyproxy.envoy.config.metrics.v3.TagSpecifier.newBuilder().setTagName(t[0])
                    .setRegex(t[1]));
        }
        return b.build();
    }

    private static Bootstrap forDiscovery0(String host, int port, String nodeId, Map<String, String> metadata,
                                           Map<String, String> labels, int adminPort, java.nio.file.Path xdsRootCa) {
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
        Cluster.Builder xds = Cluster.newBuilder().setName(XDS_CLUSTER)
                .setType(host.matches("[0-9.]+|.*:.*") ? Cluster.DiscoveryType.STATIC : Cluster.DiscoveryType.STRICT_DNS)
                .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(1))
                .setLoadAssignment(ClusterLoadAssignment.newBuilder().setClusterName(XDS_CLUSTER)
                        .addEndpoints(LocalityLbEndpoints.newBuilder().addLbEndpoints(LbEndpoint.newBuilder()
                                .setEndpoint(Endpoint.newBuilder().setAddress(address(host, port))))));
        if (xdsRootCa != null) {
            var tls = io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.newBuilder()
                    .setSni(XDS_SNI)
                    .setCommonTlsContext(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext
                            .newBuilder().addAlpnProtocols("h2")
                            .setValidationContext(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3
                                    .CertificateValidationContext.newBuilder()
                                    .setTrustedCa(io.envoyproxy.envoy.config.core.v3.DataSource.newBuilder()
                                            .setFilename(xdsRootCa.toString()))
                                    .addMatchTypedSubjectAltNames(io.envoyproxy.envoy.extensions.transport_sockets.tls
                                            .v3.SubjectAltNameMatcher.newBuilder()
                                            .setSanType(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3
                                                    .SubjectAltNameMatcher.SanType.DNS)
                                            .setMatcher(io.envoyproxy.envoy.type.matcher.v3.StringMatcher.newBuilder()
                                                    .setExact(XDS_SNI)))))
                    .build();
            xds.setTransportSocket(io.envoyproxy.envoy.config.core.v3.TransportSocket.newBuilder()
                    .setName("envoy.transport_sockets.tls").setTypedConfig(com.google.protobuf.Any.pack(tls)));
        }
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
