package io.jmesh.discovery.xds;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.Http2ProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.HttpProtocolOptions;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.jmesh.discovery.config.DestinationRule;
import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.model.ServicePort;
import java.util.Map;
import java.util.TreeMap;

/**
 * Builds CDS: {@code outbound|<port>|<subset>|<host>} for every visible service port and every
 * subset of its DestinationRule, {@code inbound|<port>||} for the sidecar's own workload ports,
 * and Istio's {@code PassthroughCluster} and {@code BlackHoleCluster} for sidecars and gateways.
 * Proxyless gRPC clients get only outbound EDS clusters without Envoy-only extensions.
 */
final class ClusterGenerator {

    /** Istio's default connect timeout. */
    static final com.google.protobuf.Duration DEFAULT_CONNECT_TIMEOUT =
            com.google.protobuf.Duration.newBuilder().setSeconds(10).build();
    /** Istio's default circuit-breaker limits: the largest uint32 (written as -1 in Java's signed int). */
    private static final int MAX = -1;

    private ClusterGenerator() {}

    static String outboundName(int port, String subset, String host) {
        return "outbound|" + port + '|' + (subset == null ? "" : subset) + '|' + host;
    }

    static String inboundName(int port) {
        return "inbound|" + port + "||";
    }

    static Map<String, Message> generate(GenerationContext ctx) {
        Map<String, Message> out = new TreeMap<>();
        boolean grpc = ctx.proxy.type() == ProxyNode.Type.PROXYLESS_GRPC;
        for (Service s : ctx.services) {
            DestinationRule dr = ctx.destinationRule(s.hostname());
            for (ServicePort port : s.ports()) {
                if (grpc && !s.resolution().equals("STATIC")) {
                    continue; // gRPC's client resolves only EDS (and LOGICAL_DNS) clusters
                }
                add(out, cluster(ctx, s, port, null, dr, grpc));
                if (dr != null) {
                    for (DestinationRule.Subset subset : dr.subsets()) {
                        add(out, cluster(ctx, s, port, subset.name(), dr, grpc));
                    }
                }
            }
        }
        if (grpc) {
            return out;
        }
        RequestAuthnFilters.clusters(ctx).forEach(out::putIfAbsent);
        add(out, Cluster.newBuilder().setName("BlackHoleCluster").setType(Cluster.DiscoveryType.STATIC)
                .setConnectTimeout(DEFAULT_CONNECT_TIMEOUT).build());
        add(out, Cluster.newBuilder().setName("PassthroughCluster").setType(Cluster.DiscoveryType.ORIGINAL_DST)
                .setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED).setConnectTimeout(DEFAULT_CONNECT_TIMEOUT)
                .build());
        if (ctx.proxy.captured()) {
            CapturedSidecar.clusters(out);
        }
        if (ctx.proxy.type() == ProxyNode.Type.SIDECAR) {
            for (Map.Entry<Integer, InboundPort> e : ctx.inboundPorts().entrySet()) {
                String name = inboundName(e.getKey());
                if (!out.containsKey(name)) {
                    Cluster.Builder c = Cluster.newBuilder()
                            .setName(name)
                            .setType(Cluster.DiscoveryType.STATIC)
                            .setConnectTimeout(DEFAULT_CONNECT_TIMEOUT)
                            .setLoadAssignment(ClusterLoadAssignment.newBuilder()
                                    .setClusterName(name)
                                    .addEndpoints(LocalityLbEndpoints.newBuilder()
                                            .addLbEndpoints(LbEndpoint.newBuilder().setEndpoint(
                                                    io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                                                            .setAddress(SidecarIngress.endpoint(ctx, e.getKey()))))));
                    io.jmesh.discovery.config.Sidecar.IstioIngressListener ingress =
                            SidecarIngress.listener(ctx, e.getKey());
                    if (ingress != null && ingress.connectionPool() != null) {
                        applyConnectionPool(c, ingress.connectionPool(), SidecarIngress.servicePort(ingress), false);
                    }
                    if (e.getValue().http2()) {
                        // Istio's setUpstreamProtocol on inbound clusters: HTTP/2 to the application on its
                        // HTTP2/gRPC ports (when every service of the workload port says so).
                        c.putTypedExtensionProtocolOptions("envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                                Protos.any(io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                                        .newBuilder().setExplicitHttpConfig(io.envoyproxy.envoy.extensions.upstreams
                                                .http.v3.HttpProtocolOptions.ExplicitHttpConfig.newBuilder()
                                                .setHttp2ProtocolOptions(Http2ProtocolOptions.getDefaultInstance()))
                                        .build()));
                    }
                    out.put(name, c.build());
                }
            }
        }
        return out;
    }

    private static void add(Map<String, Message> out, Cluster c) {
        out.put(c.getName(), c);
    }

    static Address address(String ip, int port) {
        return Address.newBuilder()
                .setSocketAddress(SocketAddress.newBuilder().setAddress(ip).setPortValue(port))
                .build();
    }

    private static Cluster cluster(GenerationContext ctx, Service s, ServicePort port, String subset,
                                   DestinationRule dr, boolean grpc) {
        String name = outboundName(port.number(), subset, s.hostname());
        TrafficPolicies policy = TrafficPolicies.of(dr, subset, port.number());
        Cluster.Builder c = Cluster.newBuilder().setName(name).setConnectTimeout(DEFAULT_CONNECT_TIMEOUT);
        switch (s.resolution()) {
            case "STATIC" -> c.setType(Cluster.DiscoveryType.EDS)
                    .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder()
                            .setServiceName(name).setEdsConfig(Protos.ads()));
            case "DNS", "DNS_ROUND_ROBIN" -> c
                    .setType(s.resolution().equals("DNS") ? Cluster.DiscoveryType.STRICT_DNS
                            : Cluster.DiscoveryType.LOGICAL_DNS)
                    .setDnsLookupFamily(Cluster.DnsLookupFamily.V4_ONLY)
                    .setLoadAssignment(EndpointGenerator.assignment(name, ctx.snapshot, s, port, subset, dr));
            default -> c.setType(Cluster.DiscoveryType.ORIGINAL_DST).setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED);
        }
        if (!s.resolution().equals("NONE")) {
            applyLoadBalancer(c, policy.loadBalancer(), grpc);
        }
        applyConnectionPool(c, policy.connectionPool(), port, grpc);
        applyOutlierDetection(c, policy.outlierDetection());
        if (!grpc) {
            applyTls(ctx, c, policy.tls(), s, port, subset);
            if (!port.isHttp() && port.rpcProtocol() == null && !s.meshExternal()
                    && ctx.proxy.type() != ProxyNode.Type.PROXYLESS_GRPC) {
                c.addFilters(MetadataExchangeFilters.cluster()); // tcp_proxy exchanges peer metadata over mTLS
            }
        }
        return c.build();
    }

    private static void applyLoadBalancer(Cluster.Builder c, DestinationRule.LoadBalancerSettings lb, boolean grpc) {
        if (lb != null && lb.consistentHash() != null) {
            DestinationRule.ConsistentHashLB ch = lb.consistentHash();
            if (ch.maglev() != null) {
                c.setLbPolicy(Cluster.LbPolicy.MAGLEV);
                if (ch.maglev().tableSize() != null) {
                    c.setMaglevLbConfig(Cluster.MaglevLbConfig.newBuilder()
                            .setTableSize(com.google.protobuf.UInt64Value.of(ch.maglev().tableSize())));
                }
            } else {
                long min = ch.ringHash() != null && ch.ringHash().minimumRingSize() != null
                        ? ch.ringHash().minimumRingSize()
                        : ch.minimumRingSize() != null ? ch.minimumRingSize() : 1024;
                c.setLbPolicy(Cluster.LbPolicy.RING_HASH)
                        .setRingHashLbConfig(Cluster.RingHashLbConfig.newBuilder()
                                .setMinimumRingSize(com.google.protobuf.UInt64Value.of(min)));
            }
            return;
        }
        String simple = lb == null || lb.simple() == null ? "UNSPECIFIED" : lb.simple();
        switch (simple) {
            case "ROUND_ROBIN" -> c.setLbPolicy(Cluster.LbPolicy.ROUND_ROBIN);
            case "RANDOM" -> c.setLbPolicy(Cluster.LbPolicy.RANDOM);
            case "PASSTHROUGH" -> c.setType(Cluster.DiscoveryType.ORIGINAL_DST)
                    .clearEdsClusterConfig().setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED);
            case "LEAST_REQUEST", "LEAST_CONN" -> c.setLbPolicy(Cluster.LbPolicy.LEAST_REQUEST);
            // Istio's default is LEAST_REQUEST; gRPC's client keeps its own default (round robin).
            default -> c.setLbPolicy(grpc ? Cluster.LbPolicy.ROUND_ROBIN : Cluster.LbPolicy.LEAST_REQUEST);
        }
        applySlowStart(c, lb);
    }

    /**
     * Istio's {@code warmup} ({@code warmupDurationSecs} before it): Envoy's {@code slow_start_config} on a
     * ROUND_ROBIN or LEAST_REQUEST cluster (other policies have no slow start, as in Istio).
     */
    private static void applySlowStart(Cluster.Builder c, DestinationRule.LoadBalancerSettings lb) {
        if (lb == null || (lb.warmup() == null && lb.warmupDurationSecs() == null)) {
            return;
        }
        Cluster.SlowStartConfig.Builder ss = Cluster.SlowStartConfig.newBuilder();
        if (lb.warmup() != null) {
            ss.setSlowStartWindow(Protos.duration(lb.warmup().duration()));
            ss.setMinWeightPercent(io.envoyproxy.envoy.type.v3.Percent.newBuilder()
                    .setValue(lb.warmup().minimumPercent() == null ? 10 : lb.warmup().minimumPercent()));
            ss.setAggression(io.envoyproxy.envoy.config.core.v3.RuntimeDouble.newBuilder()
                    .setDefaultValue(lb.warmup().aggression() == null ? 1.0 : lb.warmup().aggression())
                    .setRuntimeKey("upstream.slow_start.aggression"));
        } else {
            ss.setSlowStartWindow(Protos.duration(lb.warmupDurationSecs()));
        }
        if (c.getLbPolicy() == Cluster.LbPolicy.ROUND_ROBIN) {
            c.setRoundRobinLbConfig(Cluster.RoundRobinLbConfig.newBuilder().setSlowStartConfig(ss));
        } else if (c.getLbPolicy() == Cluster.LbPolicy.LEAST_REQUEST) {
            c.setLeastRequestLbConfig(c.getLeastRequestLbConfig().toBuilder().setSlowStartConfig(ss));
        }
    }

    private static void applyConnectionPool(Cluster.Builder c, DestinationRule.ConnectionPoolSettings cp,
                                            ServicePort port, boolean grpc) {
        CircuitBreakers.Thresholds.Builder t = CircuitBreakers.Thresholds.newBuilder()
                .setMaxConnections(Protos.u32(MAX)).setMaxPendingRequests(Protos.u32(MAX))
                .setMaxRequests(Protos.u32(MAX)).setMaxRetries(Protos.u32(MAX));
        HttpProtocolOptions.Builder common = HttpProtocolOptions.newBuilder();
        boolean hasCommon = false;
        if (cp != null && cp.tcp() != null) {
            DestinationRule.ConnectionPoolSettings.TcpKeepalive ka = cp.tcp().tcpKeepalive();
            if (ka != null) {
                // Istio's tcpKeepalive: SO_KEEPALIVE with probes, idle time and interval on upstream connections.
                io.envoyproxy.envoy.config.core.v3.TcpKeepalive.Builder k =
                        io.envoyproxy.envoy.config.core.v3.TcpKeepalive.newBuilder();
                if (ka.probes() != null) {
                    k.setKeepaliveProbes(Protos.u32(ka.probes()));
                }
                if (ka.time() != null) {
                    k.setKeepaliveTime(Protos.u32((int) Math.max(1, Protos.duration(ka.time()).getSeconds())));
                }
                if (ka.interval() != null) {
                    k.setKeepaliveInterval(Protos.u32((int) Math.max(1, Protos.duration(ka.interval()).getSeconds())));
                }
                c.setUpstreamConnectionOptions(io.envoyproxy.envoy.config.cluster.v3.UpstreamConnectionOptions
                        .newBuilder().setTcpKeepalive(k));
            }
            if (cp.tcp().maxConnections() != null) {
                t.setMaxConnections(Protos.u32(cp.tcp().maxConnections()));
            }
            if (cp.tcp().connectTimeout() != null) {
                c.setConnectTimeout(Protos.duration(cp.tcp().connectTimeout()));
            }
            if (cp.tcp().maxConnectionDuration() != null) {
                common.setMaxConnectionDuration(Protos.duration(cp.tcp().maxConnectionDuration()));
                hasCommon = true;
            }
        }
        if (cp != null && cp.http() != null) {
            DestinationRule.ConnectionPoolSettings.HTTPSettings h = cp.http();
            if (h.http1MaxPendingRequests() != null) {
                t.setMaxPendingRequests(Protos.u32(h.http1MaxPendingRequests()));
            }
            if (h.http2MaxRequests() != null) {
                t.setMaxRequests(Protos.u32(h.http2MaxRequests()));
            }
            if (h.maxRetries() != null) {
                t.setMaxRetries(Protos.u32(h.maxRetries()));
            }
            if (h.maxRequestsPerConnection() != null && h.maxRequestsPerConnection() > 0) {
                common.setMaxRequestsPerConnection(Protos.u32(h.maxRequestsPerConnection()));
                hasCommon = true;
            }
            if (h.idleTimeout() != null) {
                common.setIdleTimeout(Protos.duration(h.idleTimeout()));
                hasCommon = true;
            }
        }
        c.setCircuitBreakers(CircuitBreakers.newBuilder().addThresholds(t.setTrackRemaining(!grpc)));
        if (grpc) {
            return;
        }
        boolean h2 = port.isHttp2() || (cp != null && cp.http() != null && "UPGRADE".equals(cp.http().h2UpgradePolicy()));
        if (h2 || hasCommon) {
            var options = io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.newBuilder();
            if (hasCommon) {
                options.setCommonHttpProtocolOptions(common);
            }
            var explicit = io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions.ExplicitHttpConfig
                    .newBuilder();
            if (h2) {
                Http2ProtocolOptions.Builder h2o = Http2ProtocolOptions.newBuilder();
                if (cp != null && cp.http() != null && cp.http().maxConcurrentStreams() != null) {
                    h2o.setMaxConcurrentStreams(Protos.u32(cp.http().maxConcurrentStreams()));
                }
                if (cp != null && cp.http() != null && cp.http().http2KeepAlive() != null) {
                    // Istio's http2KeepAlive: Envoy's HTTP/2 PING keepalive on the upstream connections.
                    var k = io.envoyproxy.envoy.config.core.v3.KeepaliveSettings.newBuilder();
                    if (cp.http().http2KeepAlive().interval() != null) {
                        k.setInterval(Protos.duration(cp.http().http2KeepAlive().interval()));
                    }
                    if (cp.http().http2KeepAlive().timeout() != null) {
                        k.setTimeout(Protos.duration(cp.http().http2KeepAlive().timeout()));
                    }
                    h2o.setConnectionKeepalive(k);
                }
                explicit.setHttp2ProtocolOptions(h2o);
            } else {
                explicit.setHttpProtocolOptions(io.envoyproxy.envoy.config.core.v3.Http1ProtocolOptions
                        .getDefaultInstance());
            }
            options.setExplicitHttpConfig(explicit);
            c.putTypedExtensionProtocolOptions("envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                    Protos.any(options.build()));
        }
    }

    private static void applyOutlierDetection(Cluster.Builder c, DestinationRule.OutlierDetection od) {
        if (od == null) {
            return;
        }
        OutlierDetection.Builder o = OutlierDetection.newBuilder();
        Integer fiveXx = od.consecutive5xxErrors() != null ? od.consecutive5xxErrors() : od.consecutiveErrors();
        if (fiveXx != null) {
            o.setConsecutive5Xx(Protos.u32(fiveXx));
            o.setEnforcingConsecutive5Xx(Protos.u32(fiveXx > 0 ? 100 : 0));
        }
        if (od.consecutiveGatewayErrors() != null) {
            o.setConsecutiveGatewayFailure(Protos.u32(od.consecutiveGatewayErrors()));
            o.setEnforcingConsecutiveGatewayFailure(Protos.u32(od.consecutiveGatewayErrors() > 0 ? 100 : 0));
        }
        if (od.consecutiveLocalOriginFailures() != null) {
            o.setConsecutiveLocalOriginFailure(Protos.u32(od.consecutiveLocalOriginFailures()));
        }
        if (od.splitExternalLocalOriginErrors() != null) {
            o.setSplitExternalLocalOriginErrors(od.splitExternalLocalOriginErrors());
        }
        if (od.interval() != null) {
            o.setInterval(Protos.duration(od.interval()));
        }
        if (od.baseEjectionTime() != null) {
            o.setBaseEjectionTime(Protos.duration(od.baseEjectionTime()));
        }
        if (od.maxEjectionPercent() != null) {
            o.setMaxEjectionPercent(Protos.u32(od.maxEjectionPercent()));
        }
        c.setOutlierDetection(o);
        if (od.minHealthPercent() != null) {
            c.setCommonLbConfig(Cluster.CommonLbConfig.newBuilder().setHealthyPanicThreshold(
                    io.envoyproxy.envoy.type.v3.Percent.newBuilder().setValue(od.minHealthPercent())));
        }
    }

    /**
     * The cluster's upstream TLS: the DestinationRule's {@code tls} when set; otherwise, with MeshConfig
     * {@code enableAutoMtls}, Istio's auto mTLS: {@code transport_socket_matches} choosing ISTIO_MUTUAL for
     * endpoints whose metadata says {@code tlsMode: istio} (a sidecar whose PeerAuthentication is not DISABLE,
     * see {@link EndpointGenerator}) and plaintext for the others (the last match is empty: it takes every other
     * endpoint). Unlike Istio, a cluster none of whose endpoints has a sidecar gets no matches (the same
     * plaintext, and no dependency on the node agent's {@code sds-grpc} cluster).
     */
    private static void applyTls(GenerationContext ctx, Cluster.Builder c, DestinationRule.ClientTLSSettings tls,
                                 Service s, ServicePort port, String subset) {
        if (tls == null || tls.mode() == null) {
            if (ctx.snapshot.meshConfig().autoMtls() && !s.meshExternal() && !s.resolution().equals("NONE")
                    && ctx.proxy.type() != ProxyNode.Type.PROXYLESS_GRPC) {
                autoMtls(ctx, c, s, port, subset);
            }
            return;
        }
        if (tls.mode().equals("DISABLE")) {
            return;
        }
        UpstreamTlsContext u;
        if (tls.mode().equals("ISTIO_MUTUAL")) {
            u = istioMutual(ctx, s, port, subset, tls.sni(), tls.subjectAltNames());
        } else {
            CommonTlsContext.Builder common = CommonTlsContext.newBuilder();
            if (tls.credentialName() != null) {
                // Istio: a client credential from a Secret; its CA (the -cacert secret) validates the server.
                String secret = CredentialSecrets.PREFIX + tls.credentialName();
                if (tls.mode().equals("MUTUAL")) {
                    common.addTlsCertificateSdsSecretConfigs(Protos.credentialSecret(secret));
                }
                if (!Boolean.TRUE.equals(tls.insecureSkipVerify())) {
                    common.setCombinedValidationContext(CommonTlsContext.CombinedCertificateValidationContext
                            .newBuilder().setDefaultValidationContext(sanValidation(tls.subjectAltNames(),
                                    SubjectAltNameMatcher.SanType.DNS))
                            .setValidationContextSdsSecretConfig(Protos.credentialSecret(
                                    secret + CredentialSecrets.CA_SUFFIX)));
                }
            } else {
                if (tls.mode().equals("MUTUAL") && tls.clientCertificate() != null) {
                    common.addTlsCertificates(TlsCertificate.newBuilder()
                            .setCertificateChain(DataSource.newBuilder().setFilename(tls.clientCertificate()))
                            .setPrivateKey(DataSource.newBuilder().setFilename(tls.privateKey())));
                }
                if (!Boolean.TRUE.equals(tls.insecureSkipVerify())) {
                    CertificateValidationContext.Builder v = sanValidation(tls.subjectAltNames(),
                            SubjectAltNameMatcher.SanType.DNS).toBuilder();
                    if (tls.caCertificates() != null) {
                        v.setTrustedCa(DataSource.newBuilder().setFilename(tls.caCertificates()));
                    }
                    common.setValidationContext(v);
                }
            }
            u = UpstreamTlsContext.newBuilder().setCommonTlsContext(common)
                    .setSni(tls.sni() != null ? tls.sni() : s.hostname()).build();
        }
        c.setTransportSocket(tlsSocket(u));
    }

    private static CertificateValidationContext sanValidation(java.util.List<String> sans,
                                                              SubjectAltNameMatcher.SanType type) {
        CertificateValidationContext.Builder v = CertificateValidationContext.newBuilder();
        for (String san : sans) {
            v.addMatchTypedSubjectAltNames(SubjectAltNameMatcher.newBuilder()
                    .setSanType(san.startsWith("spiffe://") ? SubjectAltNameMatcher.SanType.URI : type)
                    .setMatcher(StringMatcher.newBuilder().setExact(san)));
        }
        return v.build();
    }

    private static TransportSocket tlsSocket(UpstreamTlsContext u) {
        return TransportSocket.newBuilder().setName("envoy.transport_sockets.tls").setTypedConfig(Protos.any(u)).build();
    }

    /**
     * Istio's ISTIO_MUTUAL context: the workload certificate ({@code default}) and mesh roots ({@code ROOTCA})
     * from the node agent (SDS over {@code sds-grpc}); ALPN {@code istio-peer-exchange}, {@code istio} (and
     * {@code h2} for HTTP/2 ports); the server's SPIFFE identity checked against the service accounts of the
     * service's endpoints and its {@code subjectAltNames} (or the rule's own {@code subjectAltNames}); SNI
     * {@code outbound_.<port>_.<subset>_.<host>} unless the rule sets one.
     */
    static UpstreamTlsContext istioMutual(GenerationContext ctx, Service s, ServicePort port, String subset,
                                          String sni, java.util.List<String> ruleSans) {
        CommonTlsContext.Builder common = CommonTlsContext.newBuilder()
                .setTlsParams(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters.newBuilder()
                        .setTlsMinimumProtocolVersion(
                                io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters.TlsProtocol.TLSv1_2))
                .addAlpnProtocols("istio-peer-exchange").addAlpnProtocols("istio");
        if (port.isHttp2()) {
            common.addAlpnProtocols("h2");
        }
        java.util.List<String> sans = ruleSans == null || ruleSans.isEmpty() ? serviceIdentities(ctx, s) : ruleSans;
        common.addTlsCertificateSdsSecretConfigs(Protos.agentSecret(Protos.SDS_DEFAULT))
                .setCombinedValidationContext(CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                        .setDefaultValidationContext(sanValidation(sans, SubjectAltNameMatcher.SanType.URI))
                        .setValidationContextSdsSecretConfig(Protos.agentSecret(Protos.SDS_ROOTCA)));
        return UpstreamTlsContext.newBuilder().setCommonTlsContext(common)
                .setSni(sni != null ? sni : "outbound_." + port.number() + "_." + (subset == null ? "" : subset)
                        + "_." + s.hostname())
                .build();
    }

    /**
     * The SPIFFE identities of a service's workloads: {@code spiffe://<trustDomain>/ns/<namespace>/sa/<account>}
     * of each endpoint's service account (one already written as a {@code spiffe://} URI is kept), then the
     * service's own {@code subjectAltNames}; sorted, without duplicates. Empty: no identity check.
     */
    static java.util.List<String> serviceIdentities(GenerationContext ctx, Service s) {
        java.util.TreeSet<String> out = new java.util.TreeSet<>();
        String td = ctx.snapshot.meshConfig().trustDomain();
        for (Endpoint e : ctx.snapshot.endpoints().getOrDefault(s.hostname(), java.util.List.of())) {
            String sa = e.serviceAccount();
            if (!sa.isEmpty()) {
                out.add(sa.startsWith("spiffe://") ? sa : "spiffe://" + td + "/ns/" + s.namespace() + "/sa/" + sa);
            }
        }
        out.addAll(s.subjectAltNames());
        return java.util.List.copyOf(out);
    }

    private static void autoMtls(GenerationContext ctx, Cluster.Builder c, Service s, ServicePort port,
                                 String subset) {
        boolean anySidecar = false;
        for (Endpoint e : ctx.snapshot.endpoints(s.hostname(), port.name())) {
            anySidecar |= EndpointGenerator.mtlsReady(ctx.snapshot, s, e);
        }
        if (!anySidecar) {
            // Every endpoint takes the plaintext match anyway; without the matches a proxy needs no sds-grpc
            // cluster (no node agent) to accept the cluster. XdsCache pushes CDS when a sidecar endpoint appears.
            return;
        }
        TransportSocket mtls = tlsSocket(istioMutual(ctx, s, port, subset, null, null));
        c.addTransportSocketMatches(Cluster.TransportSocketMatch.newBuilder().setName("tlsMode-istio")
                .setMatch(com.google.protobuf.Struct.newBuilder().putFields(EndpointGenerator.TLS_MODE_KEY,
                        com.google.protobuf.Value.newBuilder().setStringValue("istio").build()))
                .setTransportSocket(mtls));
        c.addTransportSocketMatches(Cluster.TransportSocketMatch.newBuilder().setName("tlsMode-disabled")
                .setMatch(com.google.protobuf.Struct.getDefaultInstance())
                .setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.raw_buffer")
                        .setTypedConfig(Protos.any(
                                io.envoyproxy.envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer
                                        .getDefaultInstance()))));
    }
}
