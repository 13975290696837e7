package io.jmesh.discovery.xds;

import com.github.xds.type.v3.TypedStruct;
import com.google.protobuf.BoolValue;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.ApiListener;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.Cors;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.http.router.v3.Router;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.Rds;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters;
import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.Gateway;
import io.jmesh.discovery.config.PeerAuthentication;
import io.jmesh.discovery.config.Sidecar;
import io.jmesh.discovery.config.VirtualService;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.model.ServicePort;
import io.jmesh.proxy.network.rpc.RpcProxyConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Builds LDS. Sidecars: {@code virtualOutbound} (15001, original destination), one
 * {@code 0.0.0.0_<port>} listener per outbound HTTP port (HCM with RDS {@code <port>}), one
 * {@code <address|0.0.0.0>_<port>} per TCP service port (tcp_proxy) or Dubbo/Bolt service port
 * (jmesh's rpc_proxy with an inline route configuration; services sharing the listener get a virtual
 * host each), and {@code virtualInbound}
 * (15006) with a filter chain per workload port to {@code inbound|<port>||}: an HCM for HTTP ports, rpc_proxy
 * for Dubbo/Bolt ports (stat prefix {@code inbound_0.0.0.0_<port>}, one route), else tcp_proxy. Gateways: one
 * {@code 0.0.0.0_<port>} per Gateway server port, TLS terminated or passed through by SNI.
 * Proxyless gRPC: one {@code host:port} listener per service port holding an api_listener whose
 * HCM takes routes by RDS over ADS and ends with the router filter.
 */
final class ListenerGenerator {

    private static final org.slf4j.Logger logger = org.slf4j.LoggerFactory.getLogger(ListenerGenerator.class);

    static final String HCM = "envoy.filters.network.http_connection_manager";
    static final String TCP_PROXY = "envoy.filters.network.tcp_proxy";

    private ListenerGenerator() {}

    static Map<String, Message> generate(GenerationContext ctx) {
        Map<String, Message> out = new TreeMap<>();
        switch (ctx.proxy.type()) {
            case PROXYLESS_GRPC -> proxyless(ctx, out);
            case SIDECAR -> {
                sidecar(ctx, out);
                if (ctx.proxy.captured()) {
                    CapturedSidecar.apply(ctx.proxy.interceptionMode(), out);
                }
            }
            case ROUTER -> gateway(ctx, out);
        }
        return out;
    }

    private static void proxyless(GenerationContext ctx, Map<String, Message> out) {
        for (Service s : ctx.services) {
            if (!s.resolution().equals("STATIC")) {
                continue; // only EDS clusters are generated for gRPC clients
            }
            for (ServicePort p : s.ports()) {
                String routeName = s.hostname() + ':' + p.number();
                HttpConnectionManager hcm = HttpConnectionManager.newBuilder()
                        .setRds(Rds.newBuilder().setConfigSource(Protos.ads()).setRouteConfigName(routeName))
                        .addHttpFilters(router())
                        .build();
                // The client asks for the listener named as its target's authority: the FQDN or a
                // short name (xds:///reviews:9080 from the same namespace), with the port, or
                // without it when the service has a single port. All share one route configuration.
                for (String name : RouteGenerator.domains(ctx, s, p)) {
                    boolean withPort = name.endsWith(":" + p.number());
                    if ((withPort || s.ports().size() == 1) && !isIpLiteral(name, p.number())) {
                        out.putIfAbsent(name, Listener.newBuilder().setName(name)
                                .setApiListener(ApiListener.newBuilder().setApiListener(Protos.any(hcm))).build());
                    }
                }
            }
        }
    }

    private static boolean isIpLiteral(String name, int port) {
        String host = name.endsWith(":" + port) ? name.substring(0, name.length() - 1 - String.valueOf(port).length())
                : name;
        return host.matches("[0-9.]+") || host.contains(":");
    }

    private static void sidecar(GenerationContext ctx, Map<String, Message> out) {
        String fallback = ctx.registryOnly() ? "BlackHoleCluster" : "PassthroughCluster";
        out.put("virtualOutbound", Listener.newBuilder().setName("virtualOutbound")
                .setAddress(ClusterGenerator.address("0.0.0.0", 15001))
                .setUseOriginalDst(BoolValue.of(true))
                .setTrafficDirection(TrafficDirection.OUTBOUND)
                .addFilterChains(FilterChain.newBuilder().setName(fallback)
                        .addFilters(tcpProxy(fallback, fallback)))
                .build());
        // Dubbo and Bolt listeners, by name: their services (of one RPC protocol, the first one's).
        Map<String, List<Service>> rpc = new LinkedHashMap<>();
        for (Service s : ctx.services) {
            for (ServicePort p : s.ports()) {
                if (p.isHttp()) {
                    String name = "0.0.0.0_" + p.number();
                    out.putIfAbsent(name, Listener.newBuilder().setName(name)
                            .setAddress(ClusterGenerator.address("0.0.0.0", p.number()))
                            .setBindToPort(BoolValue.of(false))
                            .setTrafficDirection(TrafficDirection.OUTBOUND)
                            .addFilterChains(FilterChain.newBuilder().addFilters(Filter.newBuilder().setName(HCM)
                                    .setTypedConfig(Protos.any(rdsHcm(ctx, "outbound_0.0.0.0_" + p.number(),
                                            String.valueOf(p.number()))))))
                            .build());
                } else if (p.rpcProtocol() != null) {
                    String addr = s.addresses().isEmpty() ? "0.0.0.0" : s.addresses().get(0);
                    String name = addr + '_' + p.number();
                    if (!out.containsKey(name)) {
                        List<Service> members = rpc.computeIfAbsent(name, k -> new ArrayList<>());
                        if (members.isEmpty() || members.get(0).port(p.number()).rpcProtocol()
                                .equals(p.rpcProtocol())) {
                            members.add(s);
                        }
                    }
                } else {
                    String addr = s.addresses().isEmpty() ? "0.0.0.0" : s.addresses().get(0);
                    String name = addr + '_' + p.number();
                    if (!rpc.containsKey(name) && !out.containsKey(name)) {
                        out.put(name, Listener.newBuilder().setName(name)
                                .setAddress(ClusterGenerator.address(addr, p.number()))
                                .setBindToPort(BoolValue.of(false))
                                .setTrafficDirection(TrafficDirection.OUTBOUND)
                                .addFilterChains(FilterChain.newBuilder()
                                        .addAllFilters(TelemetryFilters.tcpStats(ctx, false))
                                        .addFilters(TelemetryFilters.withAccessLogs(tcpRoute(ctx, s, p), ctx, false)))
                                .build());
                    }
                }
            }
        }
        for (Map.Entry<String, List<Service>> e : rpc.entrySet()) {
            String name = e.getKey();
            int sep = name.lastIndexOf('_');
            int port = Integer.parseInt(name.substring(sep + 1));
            out.put(name, Listener.newBuilder().setName(name)
                    .setAddress(ClusterGenerator.address(name.substring(0, sep), port))
                    .setBindToPort(BoolValue.of(false))
                    .setTrafficDirection(TrafficDirection.OUTBOUND)
                    .addFilterChains(FilterChain.newBuilder().addFilters(rpcProxy(ctx, name, e.getValue(), port)))
                    .build());
        }
        Listener.Builder inbound = Listener.newBuilder().setName("virtualInbound")
                .setAddress(ClusterGenerator.address("0.0.0.0", 15006))
                .setUseOriginalDst(BoolValue.of(true))
                .setTrafficDirection(TrafficDirection.INBOUND);
        MtlsPolicy mtls = MtlsPolicy.of(ctx.snapshot, ctx.proxy.namespace(), ctx.proxy.labels());
        boolean inspectTls = false;
        for (Map.Entry<Integer, InboundPort> e : ctx.inboundPorts().entrySet()) {
            int port = e.getKey();
            String protocol = e.getValue().protocol(); // "http", "dubbo", "bolt", or "tcp"
            String cluster = ClusterGenerator.inboundName(port);
            List<Filter> filters = inboundFilters(ctx, port, protocol);
            PeerAuthentication.Mode mode = mtls.mode(port);
            FilterChainMatch.Builder match = FilterChainMatch.newBuilder().setDestinationPort(Protos.u32(port));
            // A Sidecar ingress listener: bound by the proxy itself with captureMode NONE, and TLS of its own.
            Sidecar.IstioIngressListener ingress = SidecarIngress.listener(ctx, port);
            Listener.Builder target = inbound;
            if (ingress != null && SidecarIngress.bound(ingress)) {
                String bind = SidecarIngress.bindAddress(ingress);
                target = Listener.newBuilder().setName(bind + '_' + port)
                        .setAddress(ClusterGenerator.address(bind, port))
                        .setTrafficDirection(TrafficDirection.INBOUND);
            }
            if (ingress != null && ingress.tls() != null) {
                target.addFilterChains(FilterChain.newBuilder().setName(cluster)
                        .setFilterChainMatch(match.clone().setTransportProtocol("tls"))
                        .setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls")
                                .setTypedConfig(Protos.any(downstreamTls(ingress.tls(), protocol.equals("http")))))
                        .addAllFilters(filters));
                inspectTls = true;
                mode = null;
            }
            switch (mode == null ? PeerAuthentication.Mode.UNSET : mode) {
                case STRICT -> {
                    inspectTls = true;
                    target.addFilterChains(FilterChain.newBuilder().setName(cluster)
                            .setFilterChainMatch(match.clone().setTransportProtocol("tls"))
                            .setTransportSocket(inboundMtls(protocol))
                            .addAllFilters(filters));
                }
                case PERMISSIVE -> {
                    inspectTls = true;
                    // mTLS from a sidecar (its ALPN says istio), plaintext, and TLS of the application's own
                    // (no istio ALPN: passed through to the workload as bytes), as Istio's permissive chains.
                    target.addFilterChains(FilterChain.newBuilder().setName(cluster)
                            .setFilterChainMatch(match.clone().setTransportProtocol("tls")
                                    .addAllApplicationProtocols(MTLS_ALPNS))
                            .setTransportSocket(inboundMtls(protocol))
                            .addAllFilters(filters));
                    target.addFilterChains(FilterChain.newBuilder().setName(cluster + "-plaintext")
                            .setFilterChainMatch(match.clone().setTransportProtocol("raw_buffer"))
                            .addAllFilters(filters));
                    target.addFilterChains(FilterChain.newBuilder().setName(cluster + "-tls")
                            .setFilterChainMatch(match.clone().setTransportProtocol("tls"))
                            .addFilters(tcpProxy(cluster, cluster)));
                }
                default -> {
                    if (ingress == null || ingress.tls() == null) {
                        target.addFilterChains(FilterChain.newBuilder().setName(cluster)
                                .setFilterChainMatch(match)
                                .addAllFilters(filters));
                    }
                }
            }
            if (target != inbound) {
                // Its own port: the chains need no destination port (and keep matching if the port is remapped).
                for (FilterChain.Builder fc : target.getFilterChainsBuilderList()) {
                    fc.getFilterChainMatchBuilder().clearDestinationPort();
                    if (fc.getFilterChainMatch().equals(FilterChainMatch.getDefaultInstance())) {
                        fc.clearFilterChainMatch();
                    }
                }
                if (target.getFilterChainsList().stream().anyMatch(fc -> fc.hasTransportSocket())) {
                    target.addListenerFilters(ListenerFilter.newBuilder()
                            .setName("envoy.filters.listener.tls_inspector")
                            .setTypedConfig(Protos.any(TlsInspector.getDefaultInstance())));
                }
                if (out.putIfAbsent(target.getName(), target.build()) != null) {
                    logger.warn("{}: Sidecar ingress listener {} has the name of another listener; not generated",
                            ctx.proxy, target.getName());
                }
            }
        }
        if (inspectTls) {
            inbound.addListenerFilters(ListenerFilter.newBuilder().setName("envoy.filters.listener.tls_inspector")
                    .setTypedConfig(Protos.any(TlsInspector.getDefaultInstance())));
        }
        inbound.addFilterChains(FilterChain.newBuilder().setName("InboundPassthroughFilterChain")
                .addFilters(tcpProxy("PassthroughCluster", "InboundPassthroughCluster")));
        out.put("virtualInbound", inbound.build());
    }

    /**
     * The ALPN values a client sidecar's mTLS carries (Istio's {@code mtlsTCPWithMxcALPNs} and
     * {@code mtlsHTTPALPNs}): what tells a sidecar's mTLS from other TLS on a permissive port.
     */
    static final List<String> MTLS_ALPNS = List.of("istio-peer-exchange", "istio", "istio-http/1.0",
            "istio-http/1.1", "istio-h2");

    /** What the inbound mTLS server of a TCP (or Dubbo/Bolt) chain offers in ALPN: Istio's {@code ALPNDownstreamWithMxc}. */
    static final List<String> INBOUND_ALPNS = List.of("istio-peer-exchange", "h2", "http/1.1");

    /**
     * What the inbound mTLS server of an HTTP chain offers in ALPN: Istio's {@code ALPNHttp}. Neither {@code istio}
     * nor {@code istio-peer-exchange}: the server's first choice that the client offers wins, and a client sidecar
     * offering {@code istio-peer-exchange, istio, h2} for a gRPC port must get {@code h2}, not HTTP/1.1.
     */
    static final List<String> INBOUND_HTTP_ALPNS = List.of("h2", "http/1.1");

    /**
     * The inbound mTLS transport socket, as Istio's: the workload certificate ({@code default}) and the mesh roots
     * ({@code ROOTCA}) from the node agent over SDS ({@code sds-grpc}), a client certificate required, TLS 1.2+;
     * ALPN by the chain's {@code protocol} ({@code http}: {@link #INBOUND_HTTP_ALPNS}, else {@link #INBOUND_ALPNS}).
     */
    static TransportSocket inboundMtls(String protocol) {
        DownstreamTlsContext d = DownstreamTlsContext.newBuilder()
                .setCommonTlsContext(CommonTlsContext.newBuilder()
                        .setTlsParams(TlsParameters.newBuilder()
                                .setTlsMinimumProtocolVersion(TlsParameters.TlsProtocol.TLSv1_2))
                        .addAllAlpnProtocols(protocol.equals("http") ? INBOUND_HTTP_ALPNS : INBOUND_ALPNS)
                        .addTlsCertificateSdsSecretConfigs(Protos.agentSecret(Protos.SDS_DEFAULT))
                        .setCombinedValidationContext(CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                                .setDefaultValidationContext(CertificateValidationContext.getDefaultInstance())
                                .setValidationContextSdsSecretConfig(Protos.agentSecret(Protos.SDS_ROOTCA))))
                .setRequireClientCertificate(BoolValue.of(true))
                .build();
        return TransportSocket.newBuilder().setName("envoy.transport_sockets.tls").setTypedConfig(Protos.any(d)).build();
    }

    /** The filters of workload port {@code port}'s inbound chain: policies, then HCM, rpc_proxy or tcp_proxy. */
    private static List<Filter> inboundFilters(GenerationContext ctx, int port, String protocol) {
        String cluster = ClusterGenerator.inboundName(port);
        String statPrefix = "inbound_0.0.0.0_" + port;
        List<Filter> out = new ArrayList<>(InboundPolicies.networkFilters(ctx, port));
        switch (protocol) {
            case "http" -> {
                // As Istio's inbound sidecar: the application sees its caller's verified identity in XFCC.
                HttpConnectionManager.Builder hcm = HttpConnectionManager.newBuilder()
                        .setStatPrefix(statPrefix)
                        .setForwardClientCertDetails(HttpConnectionManager.ForwardClientCertDetails.APPEND_FORWARD)
                        .setSetCurrentClientCertDetails(HttpConnectionManager.SetCurrentClientCertDetails.newBuilder()
                                .setSubject(BoolValue.of(true)).setDns(true).setUri(true))
                        .setRouteConfig(inboundRoutes(cluster, "http", port))
                        .addAllHttpFilters(InboundPolicies.httpFilters(ctx, port))
                        .addAllHttpFilters(httpFilters())
                        .addAllAccessLog(TelemetryFilters.accessLogs(ctx, true));
                TelemetryFilters.tracing(ctx, true, hcm);
                out.add(Filter.newBuilder().setName(HCM).setTypedConfig(Protos.any(hcm.build())).build());
            }
            case "tcp" -> {
                out.add(0, MetadataExchangeFilters.listener()); // first: it takes the peer's header off the bytes
                out.add(TelemetryFilters.withAccessLogs(tcpProxy(cluster, cluster), ctx, true));
            }
            default -> out.add(rpcProxy(statPrefix, protocol, inboundRoutes(cluster, protocol, port),
                    TelemetryFilters.accessLogs(ctx, true),
                    InboundPolicies.rpcFilters(ctx, port)));
        }
        return out;
    }

    private static void gateway(GenerationContext ctx, Map<String, Message> out) {
        Map<Integer, List<GatewayServer>> byPort = new TreeMap<>();
        for (GatewayServer gs : GatewayServer.of(ctx)) {
            byPort.computeIfAbsent(gs.port(), k -> new ArrayList<>()).add(gs);
        }
        for (Map.Entry<Integer, List<GatewayServer>> e : byPort.entrySet()) {
            int port = e.getKey();
            String name = "0.0.0.0_" + port;
            Listener.Builder l = Listener.newBuilder().setName(name)
                    .setAddress(ClusterGenerator.address("0.0.0.0", port))
                    .setTrafficDirection(TrafficDirection.OUTBOUND);
            boolean tls = false;
            Map<String, FilterChain> chains = new LinkedHashMap<>();
            for (GatewayServer gs : e.getValue()) {
                String protocol = gs.protocol();
                if (gs.isHttpRouted() && !protocol.equals("HTTPS")) {
                    chains.putIfAbsent(gs.routeName(), FilterChain.newBuilder().addFilters(Filter.newBuilder()
                            .setName(HCM).setTypedConfig(Protos.any(rdsHcm(ctx, "outbound_0.0.0.0_" + port,
                                    gs.routeName())))).build());
                } else if (gs.isHttpRouted()) {
                    tls = true;
                    FilterChain.Builder fc = FilterChain.newBuilder()
                            .setFilterChainMatch(sni(gs.server()))
                            .setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls")
                                    .setTypedConfig(Protos.any(downstreamTls(gs.server().tls(), true))))
                            .addFilters(Filter.newBuilder().setName(HCM).setTypedConfig(Protos.any(
                                    rdsHcm(ctx, "outbound_0.0.0.0_" + port, gs.routeName()))));
                    chains.putIfAbsent(gs.routeName(), fc.build());
                } else if (protocol.equals("TLS") && !gs.tlsMode().contains("PASSTHROUGH")) {
                    // TLS terminated here, then the VirtualServices' tcp routes (Istio's TLS + SIMPLE/MUTUAL).
                    tls = true;
                    for (Config<VirtualService> vs : ctx.snapshot.virtualServices()) {
                        if (!ctx.visible(vs) || !vs.spec().gateways().contains(gs.gatewayName())
                                && !vs.spec().gateways().contains(gs.gatewayNamespace() + '/' + gs.gatewayName())) {
                            continue;
                        }
                        for (VirtualService.TCPRoute r : vs.spec().tcp()) {
                            String cluster = l4Cluster(ctx, r.route(), vs.meta().namespace(), port);
                            chains.putIfAbsent("tls-terminated:" + gs.gatewayNamespace() + '/' + gs.gatewayName()
                                    + '/' + gs.index(), FilterChain.newBuilder()
                                    .setFilterChainMatch(sni(gs.server()))
                                    .setTransportSocket(TransportSocket.newBuilder()
                                            .setName("envoy.transport_sockets.tls")
                                            .setTypedConfig(Protos.any(downstreamTls(gs.server().tls(), false))))
                                    .addFilters(tcpProxy(cluster, cluster)).build());
                        }
                    }
                } else if (protocol.equals("TLS")) {
                    if (gs.tlsMode().equals("AUTO_PASSTHROUGH")) {
                        logger.warn("Gateway {}/{} servers[{}]: tls.mode AUTO_PASSTHROUGH is not supported; only "
                                + "VirtualService tls routes by SNI apply", gs.gatewayNamespace(), gs.gatewayName(),
                                gs.index());
                    }
                    tls = true;
                    for (Config<VirtualService> vs : ctx.snapshot.virtualServices()) {
                        if (!ctx.visible(vs) || !vs.spec().gateways().contains(gs.gatewayName())
                                && !vs.spec().gateways().contains(gs.gatewayNamespace() + '/' + gs.gatewayName())) {
                            continue;
                        }
                        for (VirtualService.TLSRoute r : vs.spec().tls()) {
                            for (VirtualService.TLSMatchAttributes m : r.match()) {
                                String cluster = l4Cluster(ctx, r.route(), vs.meta().namespace(), port);
                                String key = "sni:" + String.join(",", m.sniHosts());
                                chains.putIfAbsent(key, FilterChain.newBuilder()
                                        .setFilterChainMatch(FilterChainMatch.newBuilder()
                                                .addAllServerNames(m.sniHosts()))
                                        .addFilters(tcpProxy(cluster, cluster)).build());
                            }
                        }
                    }
                } else {
                    for (Config<VirtualService> vs : ctx.snapshot.virtualServices()) {
                        if (!ctx.visible(vs) || !vs.spec().gateways().contains(gs.gatewayName())
                                && !vs.spec().gateways().contains(gs.gatewayNamespace() + '/' + gs.gatewayName())) {
                            continue;
                        }
                        for (VirtualService.TCPRoute r : vs.spec().tcp()) {
                            String cluster = l4Cluster(ctx, r.route(), vs.meta().namespace(), port);
                            chains.putIfAbsent("tcp", FilterChain.newBuilder()
                                    .addFilters(tcpProxy(cluster, cluster)).build());
                        }
                    }
                }
            }
            if (chains.isEmpty()) {
                continue;
            }
            if (tls) {
                l.addListenerFilters(ListenerFilter.newBuilder().setName("envoy.filters.listener.tls_inspector")
                        .setTypedConfig(Protos.any(TlsInspector.getDefaultInstance())));
            }
            l.addAllFilterChains(chains.values());
            out.put(name, l.build());
        }
    }

    private static FilterChainMatch sni(Gateway.Server server) {
        FilterChainMatch.Builder m = FilterChainMatch.newBuilder();
        for (String h : server.hosts()) {
            String host = h.contains("/") ? h.substring(h.indexOf('/') + 1) : h;
            if (!host.equals("*")) {
                m.addServerNames(host);
            }
        }
        return m.build();
    }

    /**
     * A gateway server's TLS, as Istio builds it: SIMPLE and MUTUAL take the certificate from files or from
     * {@code credentialName} ({@code kubernetes://<name>} over ADS, served from the credentials directory);
     * MUTUAL requires a client certificate checked against {@code caCertificates} or the credential's CA
     * ({@code kubernetes://<name>-cacert}), OPTIONAL_MUTUAL checks one if sent; ISTIO_MUTUAL uses the gateway's
     * own workload certificate and the mesh roots from the node agent ({@code sds-grpc}) and requires a client
     * certificate. {@code subjectAltNames} restrict client certificates; {@code min/maxProtocolVersion} and
     * {@code cipherSuites} become {@code tls_params}.
     */
    static DownstreamTlsContext downstreamTls(Gateway.ServerTLSSettings tls, boolean http) {
        CommonTlsContext.Builder c = CommonTlsContext.newBuilder();
        String mode = tls.mode() == null ? "PASSTHROUGH" : tls.mode();
        boolean verify = mode.equals("MUTUAL") || mode.equals("OPTIONAL_MUTUAL") || mode.equals("ISTIO_MUTUAL");
        CertificateValidationContext.Builder sans = CertificateValidationContext.newBuilder();
        for (String san : tls.subjectAltNames() == null ? List.<String>of() : tls.subjectAltNames()) {
            sans.addMatchTypedSubjectAltNames(SubjectAltNameMatcher.newBuilder()
                    .setSanType(san.startsWith("spiffe://") ? SubjectAltNameMatcher.SanType.URI
                            : SubjectAltNameMatcher.SanType.DNS)
                    .setMatcher(io.envoyproxy.envoy.type.matcher.v3.StringMatcher.newBuilder().setExact(san)));
        }
        if (mode.equals("ISTIO_MUTUAL")) {
            c.addTlsCertificateSdsSecretConfigs(Protos.agentSecret(Protos.SDS_DEFAULT))
                    .setCombinedValidationContext(CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                            .setDefaultValidationContext(sans)
                            .setValidationContextSdsSecretConfig(Protos.agentSecret(Protos.SDS_ROOTCA)));
        } else {
            String credential = tls.credentialName() != null ? tls.credentialName()
                    : tls.credentialNames() != null && !tls.credentialNames().isEmpty()
                    ? tls.credentialNames().get(0) : null;
            if (tls.serverCertificate() != null) {
                c.addTlsCertificates(TlsCertificate.newBuilder()
                        .setCertificateChain(DataSource.newBuilder().setFilename(tls.serverCertificate()))
                        .setPrivateKey(DataSource.newBuilder().setFilename(tls.privateKey())));
            } else if (credential != null) {
                c.addTlsCertificateSdsSecretConfigs(Protos.credentialSecret(CredentialSecrets.PREFIX + credential));
            }
            if (verify) {
                if (tls.caCertificates() != null) {
                    c.setValidationContext(sans.setTrustedCa(DataSource.newBuilder()
                            .setFilename(tls.caCertificates())));
                } else if (credential != null) {
                    c.setCombinedValidationContext(CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
                            .setDefaultValidationContext(sans)
                            .setValidationContextSdsSecretConfig(Protos.credentialSecret(
                                    CredentialSecrets.PREFIX + credential + CredentialSecrets.CA_SUFFIX)));
                }
            }
        }
        TlsParameters.Builder params = TlsParameters.newBuilder();
        boolean hasParams = false;
        if (tls.minProtocolVersion() != null && !tls.minProtocolVersion().equals("TLS_AUTO")) {
            params.setTlsMinimumProtocolVersion(tlsVersion(tls.minProtocolVersion()));
            hasParams = true;
        }
        if (tls.maxProtocolVersion() != null && !tls.maxProtocolVersion().equals("TLS_AUTO")) {
            params.setTlsMaximumProtocolVersion(tlsVersion(tls.maxProtocolVersion()));
            hasParams = true;
        }
        if (tls.cipherSuites() != null && !tls.cipherSuites().isEmpty()) {
            params.addAllCipherSuites(tls.cipherSuites());
            hasParams = true;
        }
        if (hasParams) {
            c.setTlsParams(params);
        }
        if (http) {
            c.addAlpnProtocols("h2").addAlpnProtocols("http/1.1");
        }
        DownstreamTlsContext.Builder d = DownstreamTlsContext.newBuilder().setCommonTlsContext(c);
        if (mode.equals("MUTUAL") || mode.equals("ISTIO_MUTUAL")) {
            d.setRequireClientCertificate(BoolValue.of(true));
        }
        return d.build();
    }

    /** Istio's {@code TLSV1_2} as Envoy's {@code TLSv1_2}; the value was validated. */
    private static TlsParameters.TlsProtocol tlsVersion(String istio) {
        return switch (istio) {
            case "TLSV1_0" -> TlsParameters.TlsProtocol.TLSv1_0;
            case "TLSV1_1" -> TlsParameters.TlsProtocol.TLSv1_1;
            case "TLSV1_2" -> TlsParameters.TlsProtocol.TLSv1_2;
            case "TLSV1_3" -> TlsParameters.TlsProtocol.TLSv1_3;
            default -> TlsParameters.TlsProtocol.TLS_AUTO;
        };
    }

    private static String l4Cluster(GenerationContext ctx, List<VirtualService.RouteDestination> route, String ns,
                                    int port) {
        VirtualService.Destination d = route.get(0).destination();
        String host = MeshSnapshot.resolveShortName(d.host(), ns);
        int p = d.port() != null && d.port().number() != null ? d.port().number() : port;
        if (d.port() == null) {
            Service s = ctx.snapshot.service(host);
            if (s != null && s.ports().size() == 1) {
                p = s.ports().get(0).number();
            }
        }
        return ClusterGenerator.outboundName(p, d.subset(), host);
    }

    /** The tcp_proxy of a sidecar's TCP service port: the first VirtualService tcp route that applies, weighted. */
    private static Filter tcpRoute(GenerationContext ctx, Service s, ServicePort p) {
        String statPrefix = ClusterGenerator.outboundName(p.number(), null, s.hostname());
        Config<VirtualService> vs = RouteGenerator.virtualServiceFor(ctx, s.hostname(), null, null);
        if (vs != null) {
            for (VirtualService.TCPRoute r : vs.spec().tcp()) {
                boolean applies = r.match().isEmpty();
                for (VirtualService.L4MatchAttributes m : r.match()) {
                    applies |= m.port() == null || m.port() == p.number();
                }
                if (!applies) {
                    continue;
                }
                List<VirtualService.RouteDestination> dests = r.route().stream()
                        .filter(d -> r.route().size() == 1 || d.weight() == null || d.weight() > 0).toList();
                if (dests.size() == 1) {
                    return tcpProxy(l4Cluster(ctx, dests, vs.meta().namespace(), p.number()), statPrefix);
                }
                TcpProxy.WeightedCluster.Builder wc = TcpProxy.WeightedCluster.newBuilder();
                for (VirtualService.RouteDestination d : dests) {
                    wc.addClusters(TcpProxy.WeightedCluster.ClusterWeight.newBuilder()
                            .setName(l4Cluster(ctx, List.of(d), vs.meta().namespace(), p.number()))
                            .setWeight(d.weight() == null ? 0 : d.weight()));
                }
                return Filter.newBuilder().setName(TCP_PROXY).setTypedConfig(Protos.any(TcpProxy.newBuilder()
                        .setStatPrefix(statPrefix).setWeightedClusters(wc).build())).build();
            }
        }
        return tcpProxy(statPrefix, statPrefix);
    }

    /**
     * The {@code jmesh.filters.network.rpc_proxy} filter of a sidecar's Dubbo or Bolt listener (docs/rpc.md):
     * a TypedStruct with {@code stat_prefix} (the cluster name when the listener has one service, else the
     * listener's), {@code protocol} and an inline {@code route_config} built like the HTTP routes.
     */
    private static Filter rpcProxy(GenerationContext ctx, String listenerName, List<Service> services, int port) {
        Service first = services.get(0);
        String statPrefix = services.size() == 1
                ? ClusterGenerator.outboundName(port, null, first.hostname()) : "outbound_" + listenerName;
        RouteConfiguration rc = RouteGenerator.rpcRoutes(ctx, listenerName, services, port);
        return rpcProxy(statPrefix, first.port(port).rpcProtocol(), rc, List.of(),
                TelemetryFilters.rpcStats(ctx, false));
    }

    /**
     * The inbound route configuration of workload port {@code port}: every request to {@code inbound|<port>||},
     * with no route timeout (the caller's own timeout, or its sidecar's, applies).
     */
    private static RouteConfiguration inboundRoutes(String cluster, String protocol, int port) {
        return RouteConfiguration.newBuilder().setName(cluster)
                .setValidateClusters(BoolValue.of(false))
                .addVirtualHosts(VirtualHost.newBuilder().setName("inbound|" + protocol + "|" + port).addDomains("*")
                        .addRoutes(Route.newBuilder().setName("default")
                                .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                                .setRoute(RouteAction.newBuilder().setCluster(cluster)
                                        .setTimeout(com.google.protobuf.Duration.getDefaultInstance()))))
                .build();
    }

    /**
     * The rpc_proxy TypedStruct: {@code stat_prefix}, {@code protocol}, inline {@code route_config}, access log,
     * and the RPC {@code filters} before the router (omitted when there are none: the router alone).
     */
    private static Filter rpcProxy(String statPrefix, String protocol, RouteConfiguration rc,
                                   List<AccessLog> accessLogs, List<TypedExtensionConfig> filters) {
        Struct.Builder value = Struct.newBuilder()
                .putFields("stat_prefix", Value.newBuilder().setStringValue(statPrefix).build())
                .putFields("protocol", Value.newBuilder().setStringValue(protocol).build())
                .putFields("route_config", Value.newBuilder().setStructValue(jsonStruct(rc, statPrefix)).build());
        if (!accessLogs.isEmpty()) {
            ListValue.Builder logs = ListValue.newBuilder();
            for (AccessLog log : accessLogs) {
                logs.addValues(Value.newBuilder().setStructValue(jsonStruct(log, statPrefix)));
            }
            value.putFields("access_log", Value.newBuilder().setListValue(logs).build());
        }
        if (!filters.isEmpty()) {
            // The proxy reads this list as JSON with Envoy's field names, ending with the router.
            ListValue.Builder list = ListValue.newBuilder();
            for (TypedExtensionConfig f : filters) {
                list.addValues(Value.newBuilder().setStructValue(Struct.newBuilder()
                        .putFields("name", Value.newBuilder().setStringValue(f.getName()).build())
                        .putFields("typed_config", Value.newBuilder().setStructValue(
                                jsonStruct(f.getTypedConfig(), statPrefix, true)).build())));
            }
            list.addValues(Value.newBuilder().setStructValue(Struct.newBuilder().putFields("name",
                    Value.newBuilder().setStringValue(io.jmesh.proxy.network.rpc.RpcRouterFilterFactory.NAME).build())));
            value.putFields("filters", Value.newBuilder().setListValue(list).build());
        }
        return Filter.newBuilder().setName(RpcProxyConfig.FILTER_NAME).setTypedConfig(Protos.any(TypedStruct.newBuilder()
                .setTypeUrl(RpcProxyConfig.TYPE_URL).setValue(value).build())).build();
    }

    /** A message as the Struct of its proto3 JSON form (what a TypedStruct's value holds). */
    private static Struct jsonStruct(Message m, String where) {
        return jsonStruct(m, where, false);
    }

    /** As above; with {@code protoNames}, fields keep their proto names ({@code type_url}, not {@code typeUrl}). */
    private static Struct jsonStruct(Message m, String where, boolean protoNames) {
        Struct.Builder out = Struct.newBuilder();
        try {
            JsonFormat.Printer printer = JsonFormat.printer().usingTypeRegistry(XdsGenerator.TYPE_REGISTRY);
            JsonFormat.parser().merge((protoNames ? printer.preservingProtoFieldNames() : printer).print(m), out);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException(where + ": " + m.getDescriptorForType().getName()
                    + " not printable as JSON", e);
        }
        return out.build();
    }

    private static HttpConnectionManager rdsHcm(GenerationContext ctx, String statPrefix, String routeName) {
        HttpConnectionManager.Builder hcm = HttpConnectionManager.newBuilder()
                .setStatPrefix(statPrefix)
                .setRds(Rds.newBuilder().setConfigSource(Protos.ads()).setRouteConfigName(routeName))
                .addAllHttpFilters(ctx.proxy.type() == ProxyNode.Type.ROUTER ? RequestAuthnFilters.httpFilters(ctx) : List.of())
                .addAllHttpFilters(ctx.proxy.type() == ProxyNode.Type.ROUTER ? AuthorizationFilters.gatewayHttpFilters(ctx) : List.of())
                .addAllHttpFilters(TelemetryFilters.httpStats(ctx, false))
                .addAllHttpFilters(httpFilters())
                .addAllAccessLog(TelemetryFilters.accessLogs(ctx, false));
        TelemetryFilters.tracing(ctx, false, hcm);
        return hcm.build();
    }

    /**
     * Istio's sidecar/gateway HTTP filters that routes configure per route: fault, CORS, then the router.
     * Fault and CORS are marked {@code is_optional} (a no-op for Envoy, which has them) so that a jmesh proxy
     * without these filters yet still accepts the listener; their per-route config then has no effect there.
     */
    private static List<HttpFilter> httpFilters() {
        return List.of(
                HttpFilter.newBuilder().setName("envoy.filters.http.fault").setIsOptional(true)
                        .setTypedConfig(Protos.any(HTTPFault.getDefaultInstance())).build(),
                HttpFilter.newBuilder().setName("envoy.filters.http.cors").setIsOptional(true)
                        .setTypedConfig(Protos.any(Cors.getDefaultInstance())).build(),
                router());
    }

    private static HttpFilter router() {
        return HttpFilter.newBuilder().setName("envoy.filters.http.router")
                .setTypedConfig(Protos.any(Router.getDefaultInstance())).build();
    }

    private static Filter tcpProxy(String cluster, String statPrefix) {
        return Filter.newBuilder().setName(TCP_PROXY).setTypedConfig(Protos.any(TcpProxy.newBuilder()
                .setStatPrefix(statPrefix).setCluster(cluster).build())).build();
    }
}
