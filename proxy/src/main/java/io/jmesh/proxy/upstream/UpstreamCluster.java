package io.jmesh.proxy.upstream;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.Any;
import com.google.protobuf.Duration;
import com.google.protobuf.InvalidProtocolBufferException;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.extension.ExtensionContext;
import io.jmesh.proxy.extension.ExtensionRegistry;
import io.jmesh.proxy.extension.ServerLifecycle;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.tls.ClientTlsProvider;
import io.jmesh.proxy.tls.SecretManager;
import io.jmesh.proxy.tls.TlsStats;
import io.jmesh.proxy.transport.TransportSocketFactory;
import io.jmesh.proxy.transport.UpstreamTransportSocket;
import io.netty.handler.ssl.SslContext;

/**
 * One upstream cluster built from Envoy's {@code Cluster}
 * (<a href="https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/cluster/v3/cluster.proto">cluster.proto</a>):
 * its immutable settings (timeouts, protocol, TLS) and its current host set with load balancers.
 *
 * <p>The host set is an immutable snapshot behind one volatile reference, replaced as a whole by DNS
 * re-resolution ({@code STRICT_DNS}, {@code LOGICAL_DNS}) or {@link #updateLoadAssignment} ({@code EDS});
 * {@link #chooseHost} reads it without locks. A host whose address is unchanged keeps its
 * {@link HostStats} and active-request count across updates. Thread-safe.
 *
 * <p>{@code ORIGINAL_DST} clusters (with {@code lb_policy: CLUSTER_PROVIDED}) have no configured hosts: for each
 * request {@link #chooseHost} returns the host of the downstream connection's original destination
 * ({@link LoadBalancerContext#downstreamDestination()}), created on first use and kept (with its stats) while it is
 * used; null when the request has no downstream connection.
 */
public final class UpstreamCluster {

    private static final Logger logger = LoggerFactory.getLogger(UpstreamCluster.class);

    static final String HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
    private static final String TLS_TRANSPORT_SOCKET = "envoy.transport_sockets.tls";
    private static final String RAW_BUFFER_TRANSPORT_SOCKET = "envoy.transport_sockets.raw_buffer";
    static final long DEFAULT_CONNECT_TIMEOUT_MILLIS = 5000;
    static final long DEFAULT_DNS_REFRESH_MILLIS = 5000;

    private final Cluster config;
    private final Cluster.DiscoveryType type;
    private final ClusterStats stats;
    private final TlsStats tlsStats;
    private final CircuitBreakers circuitBreakers;
    private final OutlierDetector outlierDetector;
    /** The overprovisioning factor of the current host set, for rebuilding it when health changes. */
    private int currentFactor = HostSetSnapshot.DEFAULT_OVERPROVISIONING_FACTOR;
    private final long connectTimeoutMillis;
    /** {@code upstream_bind_config.source_address}: the local address of upstream connections; null = any. */
    private final java.net.InetSocketAddress bindAddress;
    private final TcpKeepalive tcpKeepalive;
    private final Http2Keepalive http2Keepalive;
    private final boolean http2;
    private final int maxConcurrentStreams;
    private final long maxRequestsPerConnection;
    private final int maxHeadersCount;
    private final UpstreamTransportSocket transportSocket;
    private final ClientTlsProvider tls;
    /** {@code transport_socket_matches}, in order; the first whose match the endpoint's metadata holds wins. */
    private final List<SocketMatch> socketMatches;

    /** One {@code transport_socket_matches} entry. */
    private record SocketMatch(String name, com.google.protobuf.Struct match, UpstreamTransportSocket socket) {

        /** Envoy's rule: every field of {@code match} is in the endpoint's metadata with an equal value. */
        boolean matches(Host host) {
            var md = host.transportSocketMatch().getFieldsMap();
            for (var e : match.getFieldsMap().entrySet()) {
                if (!e.getValue().equals(md.get(e.getKey()))) {
                    return false;
                }
            }
            return true;
        }
    }
    private final LoadBalancer.Factory lbFactory;
    /** The ALPN protocol of {@code filters} {@code istio.metadata_exchange}, or null without that filter. */
    private final String metadataExchangeProtocol;
    private final boolean localityWeighted;
    /** Endpoints of STATIC, STRICT_DNS and LOGICAL_DNS clusters; empty for EDS and ORIGINAL_DST. */
    final List<Endpoints.Spec> endpoints;
    final int overprovisioningFactor;
    final long dnsRefreshMillis;
    final CompletableFuture<Void> ready = new CompletableFuture<>();
    private volatile HostSetSnapshot snapshot = HostSetSnapshot.EMPTY;

    @SuppressWarnings("deprecation") // legacy fields Envoy still honours
    private UpstreamCluster(Cluster config, Stats stats, SecretManager secrets, ExtensionRegistry extensions,
                            io.netty.channel.EventLoopGroup group) throws ConfigException {
        this.config = config;
        if (config.getName().isEmpty()) {
            throw new ConfigException("name: \"\" (expected: a non-empty cluster name)");
        }
        if (config.getClusterDiscoveryTypeCase() == Cluster.ClusterDiscoveryTypeCase.CLUSTER_TYPE) {
            throw new ConfigException("cluster_type: " + config.getClusterType().getName()
                                      + " (expected: type STATIC, STRICT_DNS, LOGICAL_DNS, EDS or ORIGINAL_DST)");
        }
        this.type = config.getType();
        if (type == Cluster.DiscoveryType.UNRECOGNIZED) {
            throw new ConfigException("type: " + config.getTypeValue()
                                      + " (expected: STATIC, STRICT_DNS, LOGICAL_DNS, EDS or ORIGINAL_DST)");
        }
        this.connectTimeoutMillis = config.hasConnectTimeout() ? positiveMillis(config.getConnectTimeout(),
                                                                                "connect_timeout")
                                                               : DEFAULT_CONNECT_TIMEOUT_MILLIS;
        this.dnsRefreshMillis = config.hasDnsRefreshRate() ? positiveMillis(config.getDnsRefreshRate(),
                                                                            "dns_refresh_rate")
                                                           : DEFAULT_DNS_REFRESH_MILLIS;
        Http2ProtocolOptions h2 = http2Options(config);
        this.maxRequestsPerConnection = maxRequestsPerConnection(config);
        this.maxHeadersCount = maxHeadersCount(config);
        this.http2 = h2 != null;
        this.http2Keepalive = h2 != null && h2.hasConnectionKeepalive() ? http2Keepalive(h2.getConnectionKeepalive())
                                                                        : null;
        this.maxConcurrentStreams = h2 != null && h2.hasMaxConcurrentStreams()
                                    ? Math.max(1, h2.getMaxConcurrentStreams().getValue()) : Integer.MAX_VALUE;
        this.transportSocket = transportSocket(config, http2,
                ExtensionContext.of(() -> null, stats, group, ServerLifecycle.NONE, secrets), extensions);
        this.tls = transportSocket.tls();
        List<SocketMatch> matches = new ArrayList<>();
        for (int i = 0; i < config.getTransportSocketMatchesCount(); i++) {
            Cluster.TransportSocketMatch m = config.getTransportSocketMatches(i);
            UpstreamTransportSocket socket;
            try {
                socket = m.hasTransportSocket() ? transportSocket(
                        Cluster.newBuilder().setTransportSocket(m.getTransportSocket()).build(), http2,
                        ExtensionContext.of(() -> null, stats, group, ServerLifecycle.NONE, secrets), extensions)
                        : UpstreamTransportSocket.RAW_BUFFER;
            } catch (ConfigException e) {
                throw e.under("transport_socket_matches[" + i + "]");
            }
            matches.add(new SocketMatch(m.getName(), m.getMatch(), socket));
        }
        this.socketMatches = List.copyOf(matches);
        this.metadataExchangeProtocol = metadataExchange(config);
        this.lbFactory = LoadBalancers.factory(config, type == Cluster.DiscoveryType.ORIGINAL_DST);
        this.bindAddress = bindAddress(config);
        this.tcpKeepalive = tcpKeepalive(config);
        this.localityWeighted = config.hasCommonLbConfig() && config.getCommonLbConfig().hasLocalityWeightedLbConfig();
        String statName = config.getAltStatName().isEmpty() ? config.getName() : config.getAltStatName();
        this.stats = new ClusterStats(stats, statName);
        this.tlsStats = new TlsStats(stats, this.stats.prefix() + "ssl.");
        this.circuitBreakers = new CircuitBreakers(config.getCircuitBreakers(), stats, this.stats.prefix());
        this.outlierDetector = OutlierDetector.create(this, stats, this.stats.prefix());

        ClusterLoadAssignment cla = config.getLoadAssignment();
        switch (type) {
            case STATIC:
            case STRICT_DNS:
            case LOGICAL_DNS:
                try {
                    endpoints = Endpoints.parse(cla, type == Cluster.DiscoveryType.STATIC, type.name());
                    overprovisioningFactor = overprovisioningFactor(cla);
                } catch (ConfigException e) {
                    throw e.under("load_assignment");
                }
                if (type == Cluster.DiscoveryType.LOGICAL_DNS && endpoints.size() != 1) {
                    throw new ConfigException("load_assignment.endpoints: " + endpoints.size()
                                              + " lb_endpoints (expected: exactly 1 for a LOGICAL_DNS cluster)");
                }
                break;
            default:
                endpoints = List.of();
                overprovisioningFactor = HostSetSnapshot.DEFAULT_OVERPROVISIONING_FACTOR;
                break;
        }
        if (type == Cluster.DiscoveryType.STATIC) {
            List<Host> hosts = new ArrayList<>();
            for (Endpoints.Spec s : endpoints) {
                hosts.add(s.toHost(s.ip(), null));
            }
            setHosts(hosts, overprovisioningFactor);
        }
        if (type != Cluster.DiscoveryType.STRICT_DNS && type != Cluster.DiscoveryType.LOGICAL_DNS) {
            ready.complete(null);
        }
    }

    /**
     * The upstream network filters ({@code filters}): {@code istio.metadata_exchange} is the only one, run by
     * tcp_proxy on its upstream connections (HTTP and RPC connection pools exchange peer metadata in headers instead).
     */
    private static String metadataExchange(Cluster config) throws ConfigException {
        String protocol = null;
        for (int i = 0; i < config.getFiltersCount(); i++) {
            io.envoyproxy.envoy.config.cluster.v3.Filter f = config.getFilters(i);
            String url = io.jmesh.proxy.extension.ExtensionRegistry.typeUrl(f.getTypedConfig());
            String mx = io.jmesh.proxy.network.metadataexchange.MetadataExchange.NAME;
            if (!f.getName().equals(mx)
                    && !io.jmesh.proxy.network.metadataexchange.MetadataExchange.TYPE_URL.equals(url)) {
                throw new ConfigException("filters[" + i + "].name: " + f.getName() + " (expected: " + mx
                        + ", the only upstream network filter)");
            }
            try {
                protocol = io.jmesh.proxy.network.metadataexchange.MetadataExchange.protocol(f.getTypedConfig());
            } catch (ConfigException e) {
                throw e.under("filters[" + i + "].typed_config");
            }
        }
        return protocol;
    }

    /**
     * The ALPN protocol under which tcp_proxy exchanges node metadata with this cluster's endpoints
     * ({@code filters} {@code istio.metadata_exchange}), or null.
     */
    public String metadataExchangeProtocol() {
        return metadataExchangeProtocol;
    }

    /** Builds and validates a cluster; error paths are relative to the cluster. No DNS, no event loop. */
    static UpstreamCluster build(Cluster config, Stats stats) throws ConfigException {
        return new UpstreamCluster(config, stats, SecretManager.none(), ExtensionRegistry.loadDefault(), null);
    }

    /**
     * As {@link #build(Cluster, Stats)}, with the TLS secrets of {@code transport_socket} from {@code secrets}
     * (SDS): the cluster is built at once; {@link #tlsReady()} completes when its secrets have arrived.
     */
    static UpstreamCluster build(Cluster config, Stats stats, SecretManager secrets) throws ConfigException {
        return new UpstreamCluster(config, stats, secrets, ExtensionRegistry.loadDefault(), null);
    }

    /**
     * As {@link #build(Cluster, Stats, SecretManager)}, with the transport sockets of {@code extensions}; their
     * factories get {@code group} (the worker event loops, may be null) in their context.
     */
    static UpstreamCluster build(Cluster config, Stats stats, SecretManager secrets, ExtensionRegistry extensions,
                                 io.netty.channel.EventLoopGroup group) throws ConfigException {
        return new UpstreamCluster(config, stats, secrets, extensions, group);
    }

    private static long positiveMillis(Duration d, String path) throws ConfigException {
        long millis = d.getSeconds() * 1000 + d.getNanos() / 1_000_000;
        if (d.getSeconds() < 0 || d.getNanos() < 0 || millis <= 0 || d.getSeconds() > 315_576_000_000L) {
            throw new ConfigException(path + ": " + d.getSeconds() + "s" + d.getNanos() + "ns (expected: >= 1ms)");
        }
        return millis;
    }

    private static int overprovisioningFactor(ClusterLoadAssignment cla) throws ConfigException {
        if (!cla.getPolicy().hasOverprovisioningFactor()) {
            return HostSetSnapshot.DEFAULT_OVERPROVISIONING_FACTOR;
        }
        int f = cla.getPolicy().getOverprovisioningFactor().getValue();
        if (f < 1) {
            throw new ConfigException("policy.overprovisioning_factor: " + Integer.toUnsignedString(f)
                                      + " (expected: >= 1)");
        }
        return f;
    }

    /** Envoy's default {@code common_http_protocol_options.max_headers_count}. */
    public static final int DEFAULT_MAX_HEADERS_COUNT = 100;

    @SuppressWarnings("deprecation") // legacy field Envoy still honours
    private static int maxHeadersCount(Cluster c) throws ConfigException {
        Any any = c.getTypedExtensionProtocolOptionsMap().get(HTTP_PROTOCOL_OPTIONS);
        io.envoyproxy.envoy.config.core.v3.HttpProtocolOptions common = null;
        String path = "common_http_protocol_options.max_headers_count";
        if (any != null && any.getTypeUrl().endsWith("/" + HTTP_PROTOCOL_OPTIONS)) {
            try {
                common = any.unpack(HttpProtocolOptions.class).getCommonHttpProtocolOptions();
                path = "typed_extension_protocol_options[\"" + HTTP_PROTOCOL_OPTIONS + "\"]." + path;
            } catch (InvalidProtocolBufferException e) {
                return DEFAULT_MAX_HEADERS_COUNT; // reported by http2Options
            }
        } else if (c.hasCommonHttpProtocolOptions()) {
            common = c.getCommonHttpProtocolOptions();
        }
        if (common == null || !common.hasMaxHeadersCount()) {
            return DEFAULT_MAX_HEADERS_COUNT;
        }
        int n = common.getMaxHeadersCount().getValue();
        if (n < 1) {
            throw new ConfigException(path + ": " + n + " (expected: >= 1)");
        }
        return n;
    }

    @SuppressWarnings("deprecation") // legacy field Envoy still honours
    private static long maxRequestsPerConnection(Cluster c) throws ConfigException {
        Any any = c.getTypedExtensionProtocolOptionsMap().get(HTTP_PROTOCOL_OPTIONS);
        if (any != null && any.getTypeUrl().endsWith("/" + HTTP_PROTOCOL_OPTIONS)) {
            try {
                HttpProtocolOptions o = any.unpack(HttpProtocolOptions.class);
                if (o.getCommonHttpProtocolOptions().hasMaxRequestsPerConnection()) {
                    return Integer.toUnsignedLong(o.getCommonHttpProtocolOptions().getMaxRequestsPerConnection().getValue());
                }
            } catch (InvalidProtocolBufferException e) {
                return 0; // reported by http2Options
            }
        }
        return c.hasMaxRequestsPerConnection() ? Integer.toUnsignedLong(c.getMaxRequestsPerConnection().getValue()) : 0;
    }

    @SuppressWarnings("deprecation") // legacy fields Envoy still honours
    private static Http2ProtocolOptions http2Options(Cluster c) throws ConfigException {
        Any any = c.getTypedExtensionProtocolOptionsMap().get(HTTP_PROTOCOL_OPTIONS);
        if (any != null) {
            HttpProtocolOptions options;
            try {
                options = any.unpack(HttpProtocolOptions.class);
            } catch (InvalidProtocolBufferException e) {
                throw new ConfigException("typed_extension_protocol_options[\"" + HTTP_PROTOCOL_OPTIONS + "\"]: "
                                          + any.getTypeUrl() + " (expected: type.googleapis.com/"
                                          + HttpProtocolOptions.getDescriptor().getFullName() + ')', e);
            }
            if (options.hasExplicitHttpConfig() && options.getExplicitHttpConfig().hasHttp2ProtocolOptions()) {
                return options.getExplicitHttpConfig().getHttp2ProtocolOptions();
            }
            if (options.hasExplicitHttpConfig() && options.getExplicitHttpConfig().hasHttp3ProtocolOptions()) {
                throw new ConfigException("typed_extension_protocol_options[\"" + HTTP_PROTOCOL_OPTIONS + "\"]"
                                          + ".explicit_http_config.http3_protocol_options: set (expected: "
                                          + "http_protocol_options or http2_protocol_options)");
            }
            return null;
        }
        return c.hasHttp2ProtocolOptions() ? c.getHttp2ProtocolOptions() : null;
    }

    private static UpstreamTransportSocket transportSocket(Cluster c, boolean http2, ExtensionContext context,
                                                           ExtensionRegistry extensions) throws ConfigException {
        if (!c.hasTransportSocket()) {
            return UpstreamTransportSocket.RAW_BUFFER;
        }
        var ts = c.getTransportSocket();
        Any typed = ts.hasTypedConfig() ? ts.getTypedConfig() : null;
        String typeUrl = typed != null ? typed.getTypeUrl() : "";
        TransportSocketFactory factory = extensions.find(TransportSocketFactory.KIND, ts.getName(), typed);
        UpstreamTransportSocket socket;
        try {
            socket = factory == null ? null : factory.createUpstream(typed, http2, context);
        } catch (ConfigException e) {
            throw e.under("transport_socket");
        }
        if (socket == null) {
            throw new ConfigException("transport_socket: " + (typeUrl.isEmpty() ? ts.getName() : typeUrl)
                                      + " (expected: " + TLS_TRANSPORT_SOCKET + " with an UpstreamTlsContext or "
                                      + RAW_BUFFER_TRANSPORT_SOCKET + ')');
        }
        return socket;
    }

    /** The cluster's {@code name}. */
    public String name() {
        return config.getName();
    }

    /** The proto this cluster was built from. */
    public Cluster config() {
        return config;
    }

    /** The discovery type: STATIC, STRICT_DNS, LOGICAL_DNS, EDS or ORIGINAL_DST. */
    public Cluster.DiscoveryType type() {
        return type;
    }

    /**
     * Picks a host for a request, or returns null for "no healthy upstream" (and then counts
     * {@code upstream_cx_none_healthy}; callers must not count it again). Thread-safe, lock-free, never blocks.
     */
    public Host chooseHost(LoadBalancerContext context) {
        Host h = type == Cluster.DiscoveryType.ORIGINAL_DST ? originalDstHost(context)
                : snapshot.choose(context == null ? LoadBalancerContext.NONE : context);
        if (h == null) {
            stats.upstreamCxNoneHealthy().inc();
        }
        return h;
    }

    /**
     * The host of an {@code ORIGINAL_DST} cluster for a request: that of the downstream destination, one per address
     * (so that pools and stats are per address). When a new address comes and {@link #ORIGINAL_DST_MAX_HOSTS} hosts
     * are kept, those without active requests are forgotten (where Envoy sweeps hosts unused for a
     * {@code cleanup_interval}).
     */
    private Host originalDstHost(LoadBalancerContext context) {
        java.net.InetSocketAddress dst = context == null ? null : context.downstreamDestination();
        if (dst == null) {
            return null;
        }
        Host h = originalDstHosts.get(dst);
        if (h == null) {
            if (originalDstHosts.size() >= ORIGINAL_DST_MAX_HOSTS) {
                originalDstHosts.values().removeIf(old -> old.activeRequests() == 0);
            }
            h = originalDstHosts.computeIfAbsent(dst, a -> new Host(a, "", 1, 0,
                    io.envoyproxy.envoy.config.core.v3.HealthStatus.HEALTHY, "", 0, null));
        }
        return h;
    }

    /** How many original-destination hosts a cluster keeps before forgetting idle ones. */
    static final int ORIGINAL_DST_MAX_HOSTS = 1024;

    private final java.util.concurrent.ConcurrentHashMap<java.net.InetSocketAddress, Host> originalDstHosts =
            new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * The local address upstream connections bind ({@code upstream_bind_config.source_address}, e.g. Istio's
     * {@code 127.0.0.6} for inbound passthrough, which its iptables rules leave alone), or null for any.
     */
    public java.net.InetSocketAddress bindAddress() {
        return bindAddress;
    }

    private static java.net.InetSocketAddress bindAddress(Cluster config) throws ConfigException {
        if (!config.hasUpstreamBindConfig()) {
            return null;
        }
        var bind = config.getUpstreamBindConfig();
        var others = bind.toBuilder().clearSourceAddress().build().getAllFields().keySet().stream()
                .map(com.google.protobuf.Descriptors.FieldDescriptor::getName).toList();
        if (!others.isEmpty()) {
            throw new ConfigException("upstream_bind_config." + others.get(0) + ": set (expected: unset; only "
                    + "source_address is supported)");
        }
        var sa = bind.getSourceAddress();
        if (!sa.getAddress().matches("[0-9.]+|[0-9a-fA-F:]+") || sa.getPortValue() > 65535) {
            throw new ConfigException("upstream_bind_config.source_address: " + sa.getAddress() + ":"
                    + sa.getPortValue() + " (expected: an IP address and a port, 0 for any)");
        }
        try {
            return new java.net.InetSocketAddress(java.net.InetAddress.getByName(sa.getAddress()), sa.getPortValue());
        } catch (java.net.UnknownHostException e) {
            throw new ConfigException("upstream_bind_config.source_address.address: " + sa.getAddress()
                    + " (expected: an IP address)");
        }
    }

    /**
     * {@code upstream_connection_options.tcp_keepalive}: {@code SO_KEEPALIVE} on every upstream connection, with
     * {@code TCP_KEEPCNT}, {@code TCP_KEEPIDLE} and {@code TCP_KEEPINTVL} where set; an unset field (0) keeps the
     * operating system's default (Linux: 9 probes, 7200 s, 75 s).
     *
     * @param probes   {@code keepalive_probes}, unanswered probes before the connection is dead; 0 when unset
     * @param time     {@code keepalive_time}, idle seconds before the first probe; 0 when unset
     * @param interval {@code keepalive_interval}, seconds between probes; 0 when unset
     */
    public record TcpKeepalive(int probes, int time, int interval) {}

    private static TcpKeepalive tcpKeepalive(Cluster config) throws ConfigException {
        if (!config.hasUpstreamConnectionOptions() || !config.getUpstreamConnectionOptions().hasTcpKeepalive()) {
            return null;
        }
        io.envoyproxy.envoy.config.core.v3.TcpKeepalive k = config.getUpstreamConnectionOptions().getTcpKeepalive();
        String path = "upstream_connection_options.tcp_keepalive.";
        return new TcpKeepalive(
                keepaliveValue(k.hasKeepaliveProbes(), k.getKeepaliveProbes().getValue(), path + "keepalive_probes"),
                keepaliveValue(k.hasKeepaliveTime(), k.getKeepaliveTime().getValue(), path + "keepalive_time"),
                keepaliveValue(k.hasKeepaliveInterval(), k.getKeepaliveInterval().getValue(),
                        path + "keepalive_interval"));
    }

    /** The kernel refuses 0 and values above its limits (TCP_KEEPCNT 127, TCP_KEEPIDLE/INTVL 32767 s). */
    private static int keepaliveValue(boolean set, int value, String path) throws ConfigException {
        if (!set) {
            return 0;
        }
        int max = path.endsWith("probes") ? 127 : 32767;
        if (value < 1 || value > max) {
            throw new ConfigException(path + ": " + Integer.toUnsignedString(value) + " (expected: 1.." + max + ")");
        }
        return value;
    }

    /**
     * {@code http2_protocol_options.connection_keepalive} of an HTTP/2 cluster: a PING every {@code interval} (plus a
     * random jitter of up to {@code interval_jitter} percent of it, default 15), and one before a new stream on a
     * connection idle for {@code connection_idle_interval}; the connection is closed when no frame arrives within
     * {@code timeout} of a PING.
     *
     * @param intervalMillis     0: no interval PINGs
     * @param timeoutMillis      always set
     * @param jitterPercent      0..100
     * @param idleIntervalMillis 0: no PING before a stream on an idle connection
     */
    public record Http2Keepalive(long intervalMillis, long timeoutMillis, double jitterPercent,
                                 long idleIntervalMillis) {}

    private static Http2Keepalive http2Keepalive(io.envoyproxy.envoy.config.core.v3.KeepaliveSettings k)
            throws ConfigException {
        String path = "http2_protocol_options.connection_keepalive.";
        if (!k.hasTimeout()) {
            throw new ConfigException(path + "timeout: unset (expected: a duration >= 1ms)");
        }
        long timeout = positiveMillis(k.getTimeout(), path + "timeout");
        long interval = k.hasInterval() && (k.getInterval().getSeconds() != 0 || k.getInterval().getNanos() != 0)
                ? positiveMillis(k.getInterval(), path + "interval") : 0;
        double jitter = k.hasIntervalJitter() ? k.getIntervalJitter().getValue() : 15.0;
        if (!(jitter >= 0 && jitter <= 100)) {
            throw new ConfigException(path + "interval_jitter.value: " + jitter + " (expected: 0..100)");
        }
        long idle = k.hasConnectionIdleInterval() && (k.getConnectionIdleInterval().getSeconds() != 0
                || k.getConnectionIdleInterval().getNanos() != 0)
                ? positiveMillis(k.getConnectionIdleInterval(), path + "connection_idle_interval") : 0;
        return new Http2Keepalive(interval, timeout, jitter, idle);
    }

    /** {@code http2_protocol_options.connection_keepalive} of an HTTP/2 cluster, or null (no PINGs sent). */
    public Http2Keepalive http2Keepalive() {
        return http2Keepalive;
    }

    /** {@code upstream_connection_options.tcp_keepalive}, or null when unset (no {@code SO_KEEPALIVE}). */
    public TcpKeepalive tcpKeepalive() {
        return tcpKeepalive;
    }

    /** {@code connect_timeout} in milliseconds, 5000 when unset. */
    public long connectTimeoutMillis() {
        return connectTimeoutMillis;
    }

    /**
     * Whether requests go upstream as HTTP/2: {@code typed_extension_protocol_options
     * ["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].explicit_http_config.http2_protocol_options} is set,
     * or the legacy {@code http2_protocol_options}. {@code use_downstream_protocol_config} and {@code auto_config}
     * count as HTTP/1.1 for now.
     */
    public boolean http2() {
        return http2;
    }

    /** {@code http2_protocol_options.max_concurrent_streams}, {@link Integer#MAX_VALUE} when unset. */
    public int maxConcurrentStreams() {
        return maxConcurrentStreams;
    }

    /**
     * {@code common_http_protocol_options.max_requests_per_connection} of the cluster's {@code HttpProtocolOptions}
     * (or the legacy {@code max_requests_per_connection}); 0 means unlimited. Applied by the HTTP/1.1 pool.
     */
    public long maxRequestsPerConnection() {
        return maxRequestsPerConnection;
    }

    /**
     * {@code common_http_protocol_options.max_headers_count} for responses from this cluster (default 100): a
     * response with more fields fails as a protocol error (Envoy's codecs reset it: 503 to the client).
     */
    public int maxHeadersCount() {
        return maxHeadersCount;
    }

    /**
     * The client TLS context current now (from {@code transport_socket} and its secrets), or null for plaintext
     * or while a secret is awaited. ALPN follows {@link #http2()}. New connections should use {@link #tls()}.
     */
    public SslContext sslContext() {
        return tls == null ? null : tls.current();
    }

    /** The transport socket of new connections ({@code transport_socket}; raw_buffer when unset). */
    public UpstreamTransportSocket transportSocket() {
        return transportSocket;
    }

    /** The TLS of new connections, following secret rotation; null for plaintext. */
    public ClientTlsProvider tls() {
        return tls;
    }

    /**
     * The transport socket of new connections to {@code host}: the first of {@code transport_socket_matches}
     * whose {@code match} the host's {@code envoy.transport_socket_match} metadata holds, else
     * {@code transport_socket} (Envoy's selection, as Istio's auto mTLS uses it).
     */
    public UpstreamTransportSocket transportSocket(Host host) {
        for (SocketMatch m : socketMatches) {
            if (m.matches(host)) {
                return m.socket();
            }
        }
        return transportSocket;
    }

    /** The TLS of new connections to {@code host} ({@link #transportSocket(Host)}), or null for plaintext. */
    public ClientTlsProvider tls(Host host) {
        return socketMatches.isEmpty() ? tls : transportSocket(host).tls();
    }

    /**
     * Completes when the cluster's TLS secrets are all here (at once for plaintext or inline certificates): a
     * cluster whose secrets come by SDS warms until then (Envoy's cluster warming).
     */
    public CompletableFuture<Void> tlsReady() {
        List<CompletableFuture<Void>> all = new ArrayList<>();
        if (tls != null) {
            all.add(tls.ready());
        }
        for (SocketMatch m : socketMatches) {
            if (m.socket().tls() != null) {
                all.add(m.socket().tls().ready());
            }
        }
        return CompletableFuture.allOf(all.toArray(new CompletableFuture[0]));
    }

    /** Whether the cluster waits for a TLS secret whose SDS config says {@code initial_fetch_timeout: 0s}. */
    public boolean tlsAwaitsWithoutDeadline() {
        if (tls != null && tls.awaitsSecretsWithoutDeadline()) {
            return true;
        }
        for (SocketMatch m : socketMatches) {
            if (m.socket().tls() != null && m.socket().tls().awaitsSecretsWithoutDeadline()) {
                return true;
            }
        }
        return false;
    }

    /** {@code UpstreamTlsContext.sni}, or null when unset or plaintext. */
    public String sni() {
        return tls == null ? null : tls.sni();
    }

    public ClusterStats stats() {
        return stats;
    }

    /** Envoy's {@code cluster.<name>.ssl.*} stats of this cluster's TLS connections (none appear when plaintext). */
    public TlsStats tlsStats() {
        return tlsStats;
    }

    /**
     * The cluster's circuit breakers ({@code circuit_breakers}, Envoy's defaults when unset). The HTTP router
     * takes a request slot per attempt and a retry slot per retry; the HTTP/1 pool takes connection and
     * pending slots. Other proxies (RPC) call {@link CircuitBreakers#tryAcquireRequest()} per request and
     * answer an overflow themselves.
     */
    public CircuitBreakers circuitBreakers() {
        return circuitBreakers;
    }

    /** Every host of every priority, healthy or not (for admin {@code /clusters}); an immutable list. */
    public List<Host> hosts() {
        return snapshot.hosts;
    }

    /**
     * Completes once the cluster has its first host set: at once for STATIC, EDS and ORIGINAL_DST, after the
     * first resolution attempt of every endpoint (successful or not) for DNS clusters. Never fails.
     */
    public CompletableFuture<Void> ready() {
        return ready;
    }

    /**
     * Replaces the host set of an {@code EDS} cluster with {@code assignment}, atomically. Hosts with an
     * unchanged address keep their stats. Invalid input is rejected whole (error paths relative to the
     * {@code ClusterLoadAssignment}) and the previous hosts stay. Blocks nothing; call it off the event loop
     * (building a ring or Maglev table costs up to milliseconds).
     *
     * @throws IllegalStateException if the cluster is not of type EDS
     */
    public void updateLoadAssignment(ClusterLoadAssignment assignment) throws ConfigException {
        if (type != Cluster.DiscoveryType.EDS) {
            throw new IllegalStateException("cluster " + name() + " is " + type + ", not EDS");
        }
        List<Endpoints.Spec> specs = Endpoints.parse(assignment, true, "EDS");
        int factor = overprovisioningFactor(assignment);
        synchronized (this) {
            Map<String, Host> previous = byAddress(snapshot.hosts);
            List<Host> hosts = new ArrayList<>(specs.size());
            for (Endpoints.Spec s : specs) {
                hosts.add(s.toHost(s.ip(), previous.get(Host.toString(new java.net.InetSocketAddress(s.ip(),
                                                                                                      s.port())))));
            }
            setHosts(hosts, factor);
        }
    }

    static Map<String, Host> byAddress(List<Host> hosts) {
        Map<String, Host> m = new HashMap<>();
        for (Host h : hosts) {
            m.putIfAbsent(h.addressString(), h);
        }
        return m;
    }

    /**
     * Reports the status of a response from {@code host} for outlier detection. A no-op without
     * {@code outlier_detection}. Thread-safe, lock-free, never blocks.
     */
    public void reportResult(Host host, int status) {
        OutlierDetector d = outlierDetector;
        if (d != null) {
            d.report(host, status);
        }
    }

    /**
     * Reports that no response came from {@code host} for outlier detection: {@code timeout} false for a
     * connect failure or reset (counted as 503), true for a timeout (504). Thread-safe, lock-free, never blocks.
     */
    public void reportLocalOriginFailure(Host host, boolean timeout) {
        OutlierDetector d = outlierDetector;
        if (d != null) {
            d.reportLocalOriginFailure(host, timeout ? 504 : 503);
        }
    }

    /**
     * Reports that a connection to {@code host} was opened and nothing more will be reported for it (TCP
     * proxying) for outlier detection. A no-op without {@code outlier_detection}. Thread-safe, lock-free.
     */
    public void reportLocalOriginSuccess(Host host) {
        OutlierDetector d = outlierDetector;
        if (d != null) {
            d.reportLocalOriginSuccess(host);
        }
    }

    /** Rebuilds the load balancers over the same hosts after a health change (ejection); off the event loop. */
    synchronized void refreshHealth() {
        setHosts(snapshot.hosts, currentFactor);
    }

    /** Stops the outlier detector's timer work; for a cluster that a config update retired. */
    public void close() {
        if (outlierDetector != null) {
            outlierDetector.close();
        }
    }

    /** Builds and swaps in a new snapshot; serialized by callers (one DNS loop, or synchronized EDS updates). */
    synchronized void setHosts(List<Host> hosts, int factor) {
        currentFactor = factor;
        HostSetSnapshot next = HostSetSnapshot.build(hosts, lbFactory, localityWeighted, factor);
        HostSetSnapshot prev = snapshot;
        snapshot = next;
        if (!prev.hosts.equals(next.hosts)) {
            stats.membershipChange().inc();
        }
        stats.membershipTotal().set(next.hosts.size());
        stats.membershipHealthy().set(next.healthyCount);
    }

    @Override
    public String toString() {
        return "UpstreamCluster(" + name() + ", " + type + ", " + snapshot.hosts.size() + " hosts)";
    }
}
