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
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.Gateway;
import io.jmesh.discovery.config.VirtualService;
import io.jmesh.discovery.model.Endpoint;
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

    static final String HCM = "envoy.filters.network.http_connection_manager";
    static final String TCP_PROXY = "envoy.filters.network.tcp_proxy";

    private ListenerGenerator() {}

    static Map<String, Message> generate(GenerationContext ctx) {
        Map<String, Message> out = new TreeMap<>();
        switch (ctx.proxy.type()) {
            case PROXYLESS_GRPC -> proxyless(ctx, out);
            case SIDECAR -> sidecar(ctx, out);
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
                                .addFilterChains(FilterChain.newBuilder().addFilters(TelemetryFilters.tcpStats())
                                        .addFilters(tcpRoute(ctx, s, p)))
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
        // Each workload port's protocol: "http", "dubbo", "bolt", or "tcp" (unknown, or services disagree).
        Map<Integer, String> ports = new TreeMap<>();
        for (Endpoint e : ctx.ownEndpoints()) {
            Service s = ctx.snapshot.service(e.serviceHost());
            String protocol = "tcp";
            if (s != null) {
                for (ServicePort p : s.ports()) {
                    if (p.name().equals(e.servicePortName())) {
                        protocol = p.isHttp() ? "http" : p.rpcProtocol() != null ? p.rpcProtocol() : "tcp";
                    }
                }
            }
            ports.merge(e.port(), protocol, (a, b) -> a.equals(b) ? a : "tcp");
        }
        for (Map.Entry<Integer, String> e : ports.entrySet()) {
            String cluster = ClusterGenerator.inboundName(e.getKey());
            String statPrefix = "inbound_0.0.0.0_" + e.getKey();
            FilterChain.Builder fc = FilterChain.newBuilder().setName(cluster)
                    .setFilterChainMatch(FilterChainMatch.newBuilder().setDestinationPort(Protos.u32(e.getKey())));
            fc.addAllFilters(InboundPolicies.networkFilters(ctx, e.getKey()));
            switch (e.getValue()) {
                case "http" -> {
                    HttpConnectionManager.Builder hcm = HttpConnectionManager.newBuilder()
                            .setStatPrefix(statPrefix)
                            .setRouteConfig(inboundRoutes(cluster, "http", e.getKey()))
                            .addAllHttpFilters(InboundPolicies.httpFilters(ctx, e.getKey()))
                            .addAllHttpFilters(httpFilters());
                    accessLog(ctx).ifPresent(hcm::addAccessLog);
                    fc.addFilters(Filter.newBuilder().setName(HCM).setTypedConfig(Protos.any(hcm.build())));
                }
                case "tcp" -> fc.addFilters(tcpProxy(cluster, cluster));
                default -> fc.addFilters(rpcProxy(statPrefix, e.getValue(),
                        inboundRoutes(cluster, e.getValue(), e.getKey()), accessLog(ctx),
                        InboundPolicies.rpcFilters(ctx, e.getKey())));
            }
            inbound.addFilterChains(fc);
        }
        inbound.addFilterChains(FilterChain.newBuilder().setName("InboundPassthroughFilterChain")
                .addFilters(tcpProxy("PassthroughCluster", "InboundPassthroughCluster")));
        out.put("virtualInbound", inbound.build());
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
                                    .setTypedConfig(Protos.any(downstreamTls(gs.server().tls()))))
                            .addFilters(Filter.newBuilder().setName(HCM).setTypedConfig(Protos.any(
                                    rdsHcm(ctx, "outbound_0.0.0.0_" + port, gs.routeName()))));
                    chains.putIfAbsent(gs.routeName(), fc.build());
                } else if (protocol.equals("TLS")) {
                    tls = true;
                    for (Config<VirtualService> vs : ctx.snapshot.virtualServices()) {
                        if (!vs.spec().gateways().contains(gs.gatewayName())
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
                        if (!vs.spec().gateways().contains(gs.gatewayName())
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

    private static DownstreamTlsContext downstreamTls(Gateway.ServerTLSSettings tls) {
        CommonTlsContext.Builder c = CommonTlsContext.newBuilder();
        if (tls.serverCertificate() != null) {
            c.addTlsCertificates(TlsCertificate.newBuilder()
                    .setCertificateChain(DataSource.newBuilder().setFilename(tls.serverCertificate()))
                    .setPrivateKey(DataSource.newBuilder().setFilename(tls.privateKey())));
        } else if (tls.credentialName() != null) {
            c.addTlsCertificateSdsSecretConfigs(
                    io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig.newBuilder()
                            .setName("kubernetes://" + tls.credentialName()).setSdsConfig(Protos.ads()));
        }
        DownstreamTlsContext.Builder d = DownstreamTlsContext.newBuilder();
        if ("MUTUAL".equals(tls.mode())) {
            CertificateValidationContext.Builder v = CertificateValidationContext.newBuilder();
            if (tls.caCertificates() != null) {
                v.setTrustedCa(DataSource.newBuilder().setFilename(tls.caCertificates()));
            }
            c.setValidationContext(v);
            d.setRequireClientCertificate(BoolValue.of(true));
        }
        c.addAlpnProtocols("h2").addAlpnProtocols("http/1.1");
        return d.setCommonTlsContext(c).build();
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
        Config<VirtualService> vs = RouteGenerator.virtualServiceFor(ctx.snapshot, s.hostname(), null, null);
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
        return rpcProxy(statPrefix, first.port(port).rpcProtocol(), rc, Optional.empty(),
                List.of(TelemetryFilters.rpcStats()));
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
                                   Optional<AccessLog> accessLog, List<TypedExtensionConfig> filters) {
        Struct.Builder value = Struct.newBuilder()
                .putFields("stat_prefix", Value.newBuilder().setStringValue(statPrefix).build())
                .putFields("protocol", Value.newBuilder().setStringValue(protocol).build())
                .putFields("route_config", Value.newBuilder().setStructValue(jsonStruct(rc, statPrefix)).build());
        accessLog.ifPresent(log -> value.putFields("access_log", Value.newBuilder().setListValue(
                ListValue.newBuilder().addValues(Value.newBuilder().setStructValue(jsonStruct(log, statPrefix))))
                .build()));
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
                .addHttpFilters(TelemetryFilters.httpStats(ctx))
                .addAllHttpFilters(httpFilters());
        accessLog(ctx).ifPresent(hcm::addAccessLog);
        return hcm.build();
    }

    /** MeshConfig {@code accessLogFile}: Envoy's file access log with its default format; empty when unset. */
    private static Optional<AccessLog> accessLog(GenerationContext ctx) {
        String file = ctx.snapshot.meshConfig().accessLogFile();
        if (file.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(AccessLog.newBuilder().setName("envoy.access_loggers.file")
                .setTypedConfig(Protos.any(io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog
                        .newBuilder().setPath(file).build())).build());
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
