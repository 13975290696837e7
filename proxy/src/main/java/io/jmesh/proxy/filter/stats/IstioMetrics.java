package io.jmesh.proxy.filter.stats;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.stream.ResponseFlag;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.Histogram;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.telemetry.TaggedMetrics;

/**
 * The stats engine of Istio's standard metrics, written once for HTTP, RPC and TCP (istio/proxy
 * {@code istio_stats.cc}): one per filter config, over the server's {@link TaggedMetrics}. A filter fills the label
 * values of its request or connection in the array {@link #labels()} gives it, then records.
 *
 * <p>Metrics: {@code istio_requests_total}, {@code istio_request_duration_milliseconds},
 * {@code istio_request_bytes}, {@code istio_response_bytes}, {@code istio_request_messages_total} and
 * {@code istio_response_messages_total} (gRPC only), with the {@link #ALL_TAGS 25 labels}; the TCP ones
 * ({@code istio_tcp_connections_opened_total}, {@code ..._closed_total}, {@code istio_tcp_sent_bytes_total},
 * {@code istio_tcp_received_bytes_total}) with the first 23 (no {@code response_code},
 * {@code grpc_response_status}). Histograms use Envoy's default buckets, as Istio's bootstrap does unless told
 * otherwise.
 *
 * <p>Reporter: {@code destination} on an inbound listener, {@code source} on an outbound (or unspecified) one,
 * {@code waypoint} with {@code reporter: SERVER_GATEWAY}. Thread-safe; recording a label set seen before
 * allocates nothing.
 */
public final class IstioMetrics {

    /** Istio's label names, in Istio's order. */
    public static final List<String> ALL_TAGS = List.of("reporter",
            "source_workload", "source_workload_namespace", "source_principal", "source_app", "source_version",
            "source_canonical_service", "source_canonical_revision", "source_cluster",
            "destination_workload", "destination_workload_namespace", "destination_principal", "destination_app",
            "destination_version", "destination_service", "destination_service_name",
            "destination_service_namespace", "destination_canonical_service", "destination_canonical_revision",
            "destination_cluster", "request_protocol", "response_flags", "connection_security_policy",
            "response_code", "grpc_response_status");

    /** The number of labels of the TCP metrics (all but {@code response_code} and {@code grpc_response_status}). */
    public static final int TCP_TAGS = ALL_TAGS.size() - 2;

    static final int REPORTER = 0;
    static final int SOURCE = 1;
    static final int DESTINATION = 9;
    static final int DESTINATION_SERVICE = 14;
    static final int REQUEST_PROTOCOL = 20;
    static final int RESPONSE_FLAGS = 21;
    static final int SECURITY_POLICY = 22;
    static final int RESPONSE_CODE = 23;
    static final int GRPC_STATUS = 24;

    private static final String[] CODES = new String[600];

    static {
        for (int i = 0; i < CODES.length; i++) {
            CODES[i] = Integer.toString(i);
        }
    }

    /** Who reports. */
    public enum Reporter {
        SOURCE("source"), DESTINATION("destination"), WAYPOINT("waypoint");

        final String label;

        Reporter(String label) {
            this.label = label;
        }

        /** The reporter of a listener direction under {@code config}, as Istio infers it. */
        static Reporter of(TrafficDirection direction, StatsPluginConfig config) {
            if (config.serverGateway) {
                return WAYPOINT;
            }
            return direction == TrafficDirection.INBOUND ? DESTINATION : SOURCE;
        }

        /** Whether the peer is downstream (the reporter is on the server side). */
        boolean serverSide() {
            return this != SOURCE;
        }
    }

    final Reporter reporter;
    final WorkloadMetadata self;
    final StatsPluginConfig config;
    final String selfNamespace;
    /** The destination service of a server sidecar that knows no other: its canonical service, in its namespace. */
    private final String[] selfService;
    final WorkloadMetadata.Cache peers = new WorkloadMetadata.Cache();
    /** The value of our {@value WorkloadMetadata#HEADER}, or null when the node has no metadata to send. */
    final String ownHeader;
    /** The value of our {@value WorkloadMetadata#ID_HEADER}. */
    final String ownId;

    final Metric requests;
    final Metric duration;
    final Metric requestBytes;
    final Metric responseBytes;
    final Metric requestMessages;
    final Metric responseMessages;
    final Metric tcpOpened;
    final Metric tcpClosed;
    final Metric tcpSent;
    final Metric tcpReceived;

    /** The added labels ({@code dimensions}) of any metric, sorted, and the attribute each reads. */
    final List<String> extraTags;
    final List<io.jmesh.proxy.telemetry.cel.CelExpression> extraAttributes;
    private final ThreadLocal<String[]> scratch;
    private final Map<String, String[]> byCluster = new ConcurrentHashMap<>();
    private final Map<String, String[]> byHost = new ConcurrentHashMap<>();
    private final Map<String, String[]> byInterface = new ConcurrentHashMap<>();

    /** An engine over {@code stats} for a listener of {@code direction}. */
    public IstioMetrics(Stats stats, TrafficDirection direction, StatsPluginConfig config) {
        this.config = config;
        this.reporter = Reporter.of(direction, config);
        this.self = WorkloadMetadata.from(stats.nodeMetadata());
        this.selfNamespace = self.namespace();
        this.selfService = new String[] {self.canonicalService(), self.canonicalService(), selfNamespace};
        this.ownHeader = stats.nodeMetadata().getFieldsCount() == 0 ? null : WorkloadMetadata.encode(stats.nodeMetadata());
        this.ownId = stats.nodeId();
        java.util.TreeMap<String, String> extras = new java.util.TreeMap<>();
        config.dimensions.values().forEach(extras::putAll);
        this.extraTags = List.copyOf(extras.keySet());
        List<io.jmesh.proxy.telemetry.cel.CelExpression> compiled = new ArrayList<>();
        for (String expression : extras.values()) {
            compiled.add(config.expressions.get(expression));
        }
        this.extraAttributes = List.copyOf(compiled);
        int width = ALL_TAGS.size() + extraTags.size();
        this.scratch = ThreadLocal.withInitial(() -> new String[width]);
        TaggedMetrics t = stats.tagged();
        requests = new Metric(t, "requests_total", TaggedMetrics.Type.COUNTER, ALL_TAGS.size());
        duration = new Metric(t, "request_duration_milliseconds", TaggedMetrics.Type.HISTOGRAM, ALL_TAGS.size());
        requestBytes = new Metric(t, "request_bytes", TaggedMetrics.Type.HISTOGRAM, ALL_TAGS.size());
        responseBytes = new Metric(t, "response_bytes", TaggedMetrics.Type.HISTOGRAM, ALL_TAGS.size());
        requestMessages = new Metric(t, "request_messages_total", TaggedMetrics.Type.COUNTER, ALL_TAGS.size());
        responseMessages = new Metric(t, "response_messages_total", TaggedMetrics.Type.COUNTER, ALL_TAGS.size());
        tcpOpened = new Metric(t, "tcp_connections_opened_total", TaggedMetrics.Type.COUNTER, TCP_TAGS);
        tcpClosed = new Metric(t, "tcp_connections_closed_total", TaggedMetrics.Type.COUNTER, TCP_TAGS);
        tcpSent = new Metric(t, "tcp_sent_bytes_total", TaggedMetrics.Type.COUNTER, TCP_TAGS);
        tcpReceived = new Metric(t, "tcp_received_bytes_total", TaggedMetrics.Type.COUNTER, TCP_TAGS);
    }

    /** This thread's label array, to fill with {@link #fill} and pass to the record methods on the same thread. */
    String[] labels() {
        return scratch.get();
    }

    /** The peer of a {@value WorkloadMetadata#HEADER} value (cached). */
    WorkloadMetadata peer(String header) {
        return peers.get(header);
    }

    /**
     * Fills the labels of one request or connection.
     *
     * @param peer           the other side's workload ({@link WorkloadMetadata#UNKNOWN} when it sent none)
     * @param downstream     the downstream connection (principals and security policy on the server side), or null
     * @param upstream       the upstream connection (principals on the client side), or null
     * @param service        the destination service host, name and namespace ({@link #destinationService})
     * @param protocol       {@code http}, {@code grpc}, {@code tcp}, {@code bolt}, {@code dubbo}
     * @param flags          the response flags
     * @param responseCode   the response code (ignored for TCP)
     * @param grpcStatus     the gRPC status label ({@code ""} when not gRPC)
     * @param info           the request (the dimensions' CEL expressions read it), or null (TCP)
     */
    void fill(String[] v, WorkloadMetadata peer, ConnectionInfo downstream, ConnectionInfo upstream, String[] service,
              String protocol, Set<ResponseFlag> flags, int responseCode, String grpcStatus,
              io.jmesh.proxy.stream.StreamInfo info) {
        for (int i = 0; i < extraAttributes.size(); i++) {
            String a = info == null ? null : extraAttributes.get(i).evaluateString(info);
            v[ALL_TAGS.size() + i] = a == null || a.isEmpty() ? WorkloadMetadata.UNKNOWN_VALUE : a;
        }
        v[REPORTER] = reporter.label;
        WorkloadMetadata source;
        WorkloadMetadata destination;
        String sourcePrincipal;
        String destinationPrincipal;
        String policy;
        if (reporter.serverSide()) {
            source = peer;
            destination = self;
            sourcePrincipal = downstream == null ? null : spiffe(downstream.peerUriSans());
            destinationPrincipal = downstream == null ? null : spiffe(downstream.localUriSans());
            policy = downstream != null && downstream.peerCertificatePresented() ? "mutual_tls" : "none";
        } else {
            source = self;
            destination = peer;
            sourcePrincipal = upstream == null ? null : spiffe(upstream.localUriSans());
            destinationPrincipal = upstream == null ? null : spiffe(upstream.peerUriSans());
            policy = WorkloadMetadata.UNKNOWN_VALUE;
        }
        put(v, SOURCE, SOURCE + 5, source, sourcePrincipal);
        put(v, DESTINATION, DESTINATION + 8, destination, destinationPrincipal);
        v[DESTINATION_SERVICE] = service[0];
        v[DESTINATION_SERVICE + 1] = service[1];
        v[DESTINATION_SERVICE + 2] = service[2];
        v[REQUEST_PROTOCOL] = protocol;
        v[RESPONSE_FLAGS] = ResponseFlag.toShortString(flags);
        v[SECURITY_POLICY] = policy;
        v[RESPONSE_CODE] = responseCode >= 0 && responseCode < CODES.length ? CODES[responseCode]
                : Integer.toString(responseCode);
        v[GRPC_STATUS] = grpcStatus;
    }

    /**
     * A side's labels: workload, namespace, principal, app, version at {@code at}; canonical service, revision and
     * cluster at {@code canonicalAt} (after the destination_service labels on the destination side).
     */
    private static void put(String[] v, int at, int canonicalAt, WorkloadMetadata w, String principal) {
        v[at] = w.workloadName();
        v[at + 1] = w.namespace();
        v[at + 2] = principal == null ? WorkloadMetadata.UNKNOWN_VALUE : principal;
        v[at + 3] = w.app();
        v[at + 4] = w.version();
        v[canonicalAt] = w.canonicalService();
        v[canonicalAt + 1] = w.canonicalRevision();
        v[canonicalAt + 2] = w.clusterId();
    }

    private static String spiffe(List<String> uris) {
        for (int i = 0; i < uris.size(); i++) {
            if (uris.get(i).startsWith("spiffe://")) {
                return uris.get(i);
            }
        }
        return null;
    }

    /**
     * The destination service as {@code {host, name, namespace}}: from an Istio outbound cluster name
     * ({@code outbound|9080|v1|reviews.default.svc.cluster.local}), else from {@code host} (the request's
     * authority without its port) unless {@code disable_host_header_fallback}; otherwise, as Istio's stats filter,
     * the workload's own canonical service on a server sidecar ({@code reporter=destination}) and {@code unknown}
     * elsewhere. A host of the form {@code name.namespace.svc...} gives name and namespace; another host is its own
     * name; a server sidecar reports its own namespace (Istio's {@code destination_service_namespace}). Cached.
     */
    String[] destinationService(String cluster, String host) {
        String[] c = clusterService(cluster);
        if (c != NO_SERVICE) {
            return c;
        }
        if (host == null || host.isEmpty() || config.disableHostHeaderFallback) {
            // Istio's server sidecar names its own canonical service when no host says otherwise
            return reporter == Reporter.DESTINATION ? selfService : UNKNOWN_SERVICE;
        }
        String[] s = byHost.get(host);
        if (s == null) {
            s = fromHost(stripPort(host));
            put(byHost, host, s);
        }
        return s;
    }

    /**
     * The destination service of an RPC call: from an Istio outbound cluster name, else the interface
     * {@code service} as host and name (in the reporter's namespace on the server side).
     */
    String[] rpcDestinationService(String cluster, String service) {
        if (service == null || service.isEmpty()) {
            return destinationService(cluster, null);
        }
        String[] s = clusterService(cluster);
        if (s != NO_SERVICE) {
            return s;
        }
        s = byInterface.get(service);
        if (s == null) {
            s = new String[] {service, service, reporter.serverSide() ? selfNamespace : WorkloadMetadata.UNKNOWN_VALUE};
            put(byInterface, service, s);
        }
        return s;
    }

    /** The service an Istio outbound cluster name holds, or {@link #NO_SERVICE}. Cached. */
    private String[] clusterService(String cluster) {
        if (cluster == null) {
            return NO_SERVICE;
        }
        String[] s = byCluster.get(cluster);
        if (s == null) {
            s = fromCluster(cluster);
            put(byCluster, cluster, s);
        }
        return s;
    }

    private static void put(Map<String, String[]> cache, String key, String[] value) {
        if (cache.size() >= 4096) {
            cache.clear();
        }
        cache.put(key, value);
    }

    private static final String[] NO_SERVICE = new String[0];
    private static final String[] UNKNOWN_SERVICE = {WorkloadMetadata.UNKNOWN_VALUE, WorkloadMetadata.UNKNOWN_VALUE,
        WorkloadMetadata.UNKNOWN_VALUE};

    private String[] fromCluster(String cluster) {
        if (cluster.startsWith("outbound|")) {
            String[] parts = cluster.split("\\|", -1);
            if (parts.length == 4 && !parts[3].isEmpty()) {
                return fromHost(parts[3]);
            }
        }
        return NO_SERVICE;
    }

    private String[] fromHost(String h) {
        String[] labels = h.split("\\.");
        if (labels.length >= 3 && labels[2].equals("svc")) {
            // Istio's server sidecar reports its own namespace
            return new String[] {h, labels[0], reporter == Reporter.DESTINATION ? selfNamespace : labels[1]};
        }
        return new String[] {h, labels[0], reporter.serverSide() ? selfNamespace : WorkloadMetadata.UNKNOWN_VALUE};
    }

    private static String stripPort(String host) {
        if (host.startsWith("[")) {
            int end = host.indexOf(']');
            return end < 0 ? host : host.substring(0, end + 1);
        }
        int colon = host.lastIndexOf(':');
        return colon < 0 ? host : host.substring(0, colon);
    }

    /** Records one finished HTTP or RPC request; the message counts are recorded for gRPC only. */
    void recordRequest(String[] v, long durationMs, long requestSize, long responseSize, boolean grpc,
                       long requestMessageCount, long responseMessageCount) {
        requests.inc(v, 1);
        duration.record(v, durationMs);
        requestBytes.record(v, requestSize);
        responseBytes.record(v, responseSize);
        if (grpc) {
            requestMessages.inc(v, requestMessageCount);
            responseMessages.inc(v, responseMessageCount);
        }
    }

    /**
     * One standard metric: its family (null when dropped by config) and which of the full label array it keeps
     * ({@code tags_to_remove}).
     */
    final class Metric {
        private final TaggedMetrics.Family family;
        private final int[] keep;
        private final ThreadLocal<String[]> projected;

        Metric(TaggedMetrics t, String shortName, TaggedMetrics.Type type, int tagCount) {
            String name = "istio_" + shortName;
            Set<String> removed = config.tagsToRemove.getOrDefault(shortName, Set.of());
            List<String> names = new ArrayList<>();
            List<Integer> idx = new ArrayList<>();
            Map<String, String> added = config.dimensions.getOrDefault(shortName, Map.of());
            for (int i = 0; i < tagCount; i++) {
                String tag = ALL_TAGS.get(i);
                if (!removed.contains(tag)) {
                    names.add(tag);
                    // A dimension named as a standard label overrides its value (Istio's tagOverrides UPSERT).
                    idx.add(added.containsKey(tag) ? ALL_TAGS.size() + extraTags.indexOf(tag) : i);
                }
            }
            for (int i = 0; i < extraTags.size(); i++) {
                if (added.containsKey(extraTags.get(i)) && !ALL_TAGS.contains(extraTags.get(i))) {
                    names.add(extraTags.get(i));
                    idx.add(ALL_TAGS.size() + i);
                }
            }
            if (config.dropped.contains(shortName)) {
                family = null;
            } else if (type == TaggedMetrics.Type.COUNTER) {
                family = t.counterFamily(name, names);
            } else {
                family = t.histogramFamily(name, names, null);
            }
            keep = idx.stream().mapToInt(Integer::intValue).toArray();
            int n = keep.length;
            projected = ThreadLocal.withInitial(() -> new String[n]);
        }

        private String[] project(String[] full) {
            String[] out = projected.get();
            for (int i = 0; i < keep.length; i++) {
                out[i] = full[keep[i]];
            }
            return out;
        }

        /** The counter of a label set (null when dropped by config or by the cap). */
        Counter counter(String[] full) {
            return family == null ? null : family.counter(project(full));
        }

        void inc(String[] full, long delta) {
            if (family == null) {
                return;
            }
            Counter c = family.counter(project(full));
            if (c != null) {
                c.add(delta);
            }
        }

        void record(String[] full, double value) {
            if (family == null) {
                return;
            }
            Histogram h = family.histogram(project(full));
            if (h != null) {
                h.record(value);
            }
        }
    }
}
