package io.jmesh.discovery.config;

import java.util.List;
import java.util.Map;

/**
 * The spec of Istio's {@code DestinationRule}: policies for traffic to {@code host} once routed,
 * and the named {@code subsets} (label selections) that routes refer to.
 *
 * @see <a href="https://istio.io/latest/docs/reference/config/networking/destination-rule/">DestinationRule</a>
 */
public record DestinationRule(String host, TrafficPolicy trafficPolicy, List<Subset> subsets, List<String> exportTo,
                              WorkloadSelector workloadSelector) {

    public DestinationRule {
        subsets = subsets == null ? List.of() : List.copyOf(subsets);
        exportTo = exportTo == null ? List.of() : List.copyOf(exportTo);
    }

    /**
     * Istio's {@code istio.type.v1beta1.WorkloadSelector} of a DestinationRule: {@code matchLabels} (a ServiceEntry's
     * selector is {@code labels}, this one is not).
     */
    public record WorkloadSelector(Map<String, String> matchLabels) {
        public WorkloadSelector {
            matchLabels = matchLabels == null ? Map.of() : Map.copyOf(matchLabels);
        }
    }

    /** Policies applied to a cluster. */
    public record TrafficPolicy(LoadBalancerSettings loadBalancer, ConnectionPoolSettings connectionPool,
                                OutlierDetection outlierDetection, ClientTLSSettings tls,
                                List<PortTrafficPolicy> portLevelSettings, Map<String, Object> tunnel,
                                Map<String, Object> proxyProtocol) {
        public TrafficPolicy {
            portLevelSettings = portLevelSettings == null ? List.of() : List.copyOf(portLevelSettings);
        }
    }

    /** Policies for one port; override the rule's. */
    public record PortTrafficPolicy(VirtualService.PortSelector port, LoadBalancerSettings loadBalancer,
                                    ConnectionPoolSettings connectionPool, OutlierDetection outlierDetection,
                                    ClientTLSSettings tls) {}

    /** A named set of endpoints, chosen by labels. */
    public record Subset(String name, Map<String, String> labels, TrafficPolicy trafficPolicy) {
        public Subset {
            labels = labels == null ? Map.of() : Map.copyOf(labels);
        }
    }

    /** {@code simple} (UNSPECIFIED, LEAST_REQUEST, RANDOM, PASSTHROUGH, ROUND_ROBIN, LEAST_CONN) or {@code consistentHash}. */
    public record LoadBalancerSettings(String simple, ConsistentHashLB consistentHash,
                                       Map<String, Object> localityLbSetting, String warmupDurationSecs,
                                       Warmup warmup) {}

    /**
     * Slow start of new endpoints (Envoy's {@code slow_start_config}) for ROUND_ROBIN and LEAST_REQUEST:
     * {@code duration} of the window, {@code minimumPercent} of the weight to start from (default 10),
     * {@code aggression} of the ramp (default 1.0, linear).
     */
    public record Warmup(String duration, Double minimumPercent, Double aggression) {}

    /** Session affinity by a header, cookie, source IP or query parameter. */
    public record ConsistentHashLB(String httpHeaderName, HTTPCookie httpCookie, Boolean useSourceIp,
                                   String httpQueryParameterName, Long minimumRingSize, RingHash ringHash,
                                   MagLev maglev) {
        /** A cookie to hash on; generated with {@code ttl} when absent. */
        public record HTTPCookie(String name, String path, String ttl) {}

        /** Ketama ring hash. */
        public record RingHash(Long minimumRingSize) {}

        /** Maglev hash. */
        public record MagLev(Long tableSize) {}
    }

    /** Connection limits. */
    public record ConnectionPoolSettings(TCPSettings tcp, HTTPSettings http) {
        /** TCP limits. */
        public record TCPSettings(Integer maxConnections, String connectTimeout, TcpKeepalive tcpKeepalive,
                                  String maxConnectionDuration, String idleTimeout) {}

        /** TCP keepalive probes on upstream connections: how many, after how long idle, how often. */
        public record TcpKeepalive(Integer probes, String time, String interval) {}

        /** HTTP limits. */
        public record HTTPSettings(Integer http1MaxPendingRequests, Integer http2MaxRequests,
                                   Integer maxRequestsPerConnection, Integer maxRetries, String idleTimeout,
                                   String h2UpgradePolicy, Boolean useClientProtocol, Integer maxConcurrentStreams,
                                   Http2KeepAlive http2KeepAlive) {}

        /** HTTP/2 PING keepalive on upstream HTTP/2 connections: how often, and how long to wait for the answer. */
        public record Http2KeepAlive(String interval, String timeout) {}
    }

    /** Passive health checking (Envoy outlier detection). */
    public record OutlierDetection(Integer consecutiveErrors, Integer consecutive5xxErrors,
                                   Integer consecutiveGatewayErrors, Integer consecutiveLocalOriginFailures,
                                   Boolean splitExternalLocalOriginErrors, String interval, String baseEjectionTime,
                                   Integer maxEjectionPercent, Integer minHealthPercent) {}

    /** Upstream TLS: {@code mode} DISABLE, SIMPLE, MUTUAL or ISTIO_MUTUAL. */
    public record ClientTLSSettings(String mode, String clientCertificate, String privateKey, String caCertificates,
                                    String credentialName, List<String> subjectAltNames, String sni,
                                    Boolean insecureSkipVerify, String caCrl) {
        public ClientTLSSettings {
            subjectAltNames = subjectAltNames == null ? List.of() : List.copyOf(subjectAltNames);
        }
    }
}
