package io.jmesh.proxy.upstream;

import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;

import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.netty.util.NetUtil;

/**
 * One upstream endpoint of a cluster (Envoy's {@code Upstream::Host}): a resolved address with its
 * {@code load_balancing_weight}, {@code priority} and EDS {@code health_status}.
 *
 * <p>Weight, priority and health are fixed for the life of the object: a host-set update that changes them
 * creates a new {@code Host} which shares the old one's {@link HostStats} and active-request count. The
 * address changes only for the single host of a {@code LOGICAL_DNS} cluster, when DNS re-resolves; callers
 * read {@link #address()} once per new connection. Thread-safe.
 */
public final class Host {

    private final String hostname;
    private volatile InetSocketAddress address;
    private volatile String addressString;
    private final int weight;
    private final int priority;
    private final HealthStatus healthStatus;
    private final String locality;
    private final int localityWeight;
    private final AtomicInteger activeRequests;
    private final HostStats stats;
    private final OutlierDetector.State outlier;
    private final com.google.protobuf.Struct transportSocketMatch;
    /** When a slow-start balancer first saw this host ({@link Long#MIN_VALUE}: not yet); shared with successors. */
    private final java.util.concurrent.atomic.AtomicLong joinedAt;

    Host(InetSocketAddress address, String hostname, int weight, int priority, HealthStatus healthStatus,
         String locality, int localityWeight, Host previous) {
        this(address, hostname, weight, priority, healthStatus, locality, localityWeight, previous,
             com.google.protobuf.Struct.getDefaultInstance());
    }

    Host(InetSocketAddress address, String hostname, int weight, int priority, HealthStatus healthStatus,
         String locality, int localityWeight, Host previous, com.google.protobuf.Struct transportSocketMatch) {
        this.transportSocketMatch = transportSocketMatch;
        this.address = address;
        this.addressString = toString(address);
        this.hostname = hostname;
        this.weight = weight;
        this.priority = priority;
        this.healthStatus = healthStatus;
        this.locality = locality;
        this.localityWeight = localityWeight;
        this.activeRequests = previous != null ? previous.activeRequests : new AtomicInteger();
        this.stats = previous != null ? previous.stats : new HostStats();
        this.outlier = previous != null ? previous.outlier : new OutlierDetector.State();
        this.joinedAt = previous != null ? previous.joinedAt : new java.util.concurrent.atomic.AtomicLong(Long.MIN_VALUE);
    }

    /** Records {@code nanos} as the time this host joined, unless it joined before (slow start). */
    void joinedAt(long nanos) {
        joinedAt.compareAndSet(Long.MIN_VALUE, nanos);
    }

    /** When this host joined the cluster, as first recorded by {@link #joinedAt(long)}. */
    long joinedAt() {
        return joinedAt.get();
    }

    /**
     * The endpoint's {@code metadata.filter_metadata["envoy.transport_socket_match"]} (empty when unset), which
     * the cluster's {@code transport_socket_matches} are matched against.
     */
    public com.google.protobuf.Struct transportSocketMatch() {
        return transportSocketMatch;
    }

    static String toString(InetSocketAddress address) {
        return NetUtil.toSocketAddressString(address);
    }

    /** The resolved address to connect to. */
    public InetSocketAddress address() {
        return address;
    }

    /** The address as {@code "127.0.0.1:8080"} ({@code "[::1]:8080"} for IPv6), as Envoy's admin shows it. */
    public String addressString() {
        return addressString;
    }

    /** The DNS name this host was resolved from ({@code STRICT_DNS}, {@code LOGICAL_DNS}), or {@code ""}. */
    public String hostname() {
        return hostname;
    }

    /** The endpoint's {@code load_balancing_weight}, 1 when unset. */
    public int weight() {
        return weight;
    }

    /** The {@code priority} of the endpoint's locality; 0 is the highest. */
    public int priority() {
        return priority;
    }

    /** The EDS health status as configured ({@code health_status} of the {@code lb_endpoint}). */
    public HealthStatus healthStatus() {
        return healthStatus;
    }

    /**
     * Whether the load balancer may pick this host: {@code health_status} is {@code UNKNOWN} or
     * {@code HEALTHY}, and outlier detection has not ejected it. No active health checking yet.
     */
    public boolean healthy() {
        return edsHealthy() && !outlier.ejected;
    }

    private boolean edsHealthy() {
        return healthStatus == HealthStatus.UNKNOWN || healthStatus == HealthStatus.HEALTHY;
    }

    /** Whether outlier detection has ejected this host now. */
    public boolean ejected() {
        return outlier.ejected;
    }

    /**
     * The host's health as admin {@code /clusters} shows it in Envoy: {@code healthy}, or the failed checks, e.g.
     * {@code /failed_outlier_check} or {@code /failed_eds_health/failed_outlier_check}.
     */
    public String healthFlags() {
        if (healthy()) {
            return "healthy";
        }
        return (edsHealthy() ? "" : "/failed_eds_health") + (outlier.ejected ? "/failed_outlier_check" : "");
    }

    OutlierDetector.State outlierState() {
        return outlier;
    }

    /** The locality as {@code region/zone/sub_zone}, {@code ""} when the endpoint has none. */
    public String locality() {
        return locality;
    }

    /** The locality's {@code load_balancing_weight}, 0 when unset. */
    int localityWeight() {
        return localityWeight;
    }

    /** Counts a request sent to this host, for {@code LEAST_REQUEST}; pair with {@link #requestFinished()}. */
    public void requestStarted() {
        activeRequests.incrementAndGet();
    }

    /** Counts the end of a request started with {@link #requestStarted()}. */
    public void requestFinished() {
        activeRequests.decrementAndGet();
    }

    /** The requests started and not yet finished on this host. */
    public int activeRequests() {
        return activeRequests.get();
    }

    public HostStats stats() {
        return stats;
    }

    void updateAddress(InetSocketAddress newAddress) {
        address = newAddress;
        addressString = toString(newAddress);
    }

    @Override
    public String toString() {
        return "Host(" + addressString + ", weight=" + weight + ", priority=" + priority + ", " + healthStatus + ')';
    }
}
