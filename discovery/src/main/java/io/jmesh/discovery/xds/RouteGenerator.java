package io.jmesh.discovery.xds;

import com.google.protobuf.BoolValue;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.RuntimeFractionalPercent;
import io.envoyproxy.envoy.config.route.v3.DirectResponseAction;
import io.envoyproxy.envoy.config.route.v3.HeaderMatcher;
import io.envoyproxy.envoy.config.route.v3.QueryParameterMatcher;
import io.envoyproxy.envoy.config.route.v3.RedirectAction;
import io.envoyproxy.envoy.config.route.v3.RetryPolicy;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.envoyproxy.envoy.config.route.v3.WeightedCluster;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay;
import io.envoyproxy.envoy.extensions.filters.http.cors.v3.CorsPolicy;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatchAndSubstitute;
import io.envoyproxy.envoy.type.matcher.v3.RegexMatcher;
import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.DestinationRule;
import io.jmesh.discovery.config.Gateway;
import io.jmesh.discovery.config.VirtualService;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.model.ServicePort;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Builds RDS. Sidecars get one route configuration per outbound HTTP port, named by the port
 * ({@code 9080}), with a virtual host per service ({@code host:port}, domains the FQDN plus the
 * short names Kubernetes DNS resolves, with and without the port) and Istio's {@code allow_any}
 * (or {@code block_all}) catch-all. Proxyless gRPC clients get one per service port, named
 * {@code host:port} like their listener. Gateways get {@code http.<port>} and
 * {@code https.<port>.<server>.<gateway>.<namespace>} with a virtual host per exposed host.
 * VirtualService HTTP routes become Envoy routes in order; a route without a matching
 * VirtualService goes to {@code outbound|<port>||<host>}.
 */
final class RouteGenerator {

    /** Istio's default retry triggers. */
    static final String DEFAULT_RETRY_ON = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";

    private RouteGenerator() {}

    static Map<String, Message> generate(GenerationContext ctx) {
        Map<String, Message> out = new TreeMap<>();
        switch (ctx.proxy.type()) {
            case SIDECAR -> {
                Set<Integer> ports = new TreeSet<>();
                for (Service s : ctx.services) {
                    for (ServicePort p : s.ports()) {
                        if (p.isHttp()) {
                            ports.add(p.number());
                        }
                    }
                }
                for (int port : ports) {
                    out.put(String.valueOf(port), sidecarRoutes(ctx, port));
                }
            }
            case PROXYLESS_GRPC -> {
                for (Service s : ctx.services) {
                    if (!s.resolution().equals("STATIC")) {
                        continue;
                    }
                    for (ServicePort p : s.ports()) {
                        String name = s.hostname() + ':' + p.number();
                        VirtualHost vh = serviceVirtualHost(ctx, s, p, false);
                        out.put(name, RouteConfiguration.newBuilder().setName(name).addVirtualHosts(vh).build());
                    }
                }
            }
            case ROUTER -> {
                for (GatewayServer gs : GatewayServer.of(ctx)) {
                    if (gs.isHttpRouted()) {
                        out.putIfAbsent(gs.routeName(), gatewayRoutes(ctx, gs));
                    }
                }
            }
        }
        return out;
    }

    private static RouteConfiguration sidecarRoutes(GenerationContext ctx, int port) {
        RouteConfiguration.Builder rc = RouteConfiguration.newBuilder().setName(String.valueOf(port))
                .setValidateClusters(BoolValue.of(false));
        // Envoy rejects a route configuration in which two virtual hosts share a domain (two
        // services with one address, say): the first service keeps it, as in Istio.
        Set<String> used = new java.util.HashSet<>();
        for (Service s : ctx.services) {
            ServicePort p = s.port(port);
            if (p != null && p.isHttp()) {
                VirtualHost vh = serviceVirtualHost(ctx, s, p, true);
                List<String> domains = new ArrayList<>();
                for (String d : vh.getDomainsList()) {
                    if (used.add(d)) {
                        domains.add(d);
                    }
                }
                if (!domains.isEmpty()) {
                    rc.addVirtualHosts(vh.toBuilder().clearDomains().addAllDomains(domains));
                }
            }
        }
        if (ctx.registryOnly()) {
            rc.addVirtualHosts(VirtualHost.newBuilder().setName("block_all").addDomains("*")
                    .addRoutes(Route.newBuilder().setName("block_all")
                            .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                            .setDirectResponse(DirectResponseAction.newBuilder().setStatus(502))));
        } else {
            rc.addVirtualHosts(VirtualHost.newBuilder().setName("allow_any").addDomains("*")
                    .addRoutes(Route.newBuilder().setName("allow_any")
                            .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                            .setRoute(RouteAction.newBuilder().setCluster("PassthroughCluster")
                                    .setTimeout(com.google.protobuf.Duration.getDefaultInstance()))));
        }
        return rc.build();
    }

    /**
     * The inline route configuration of a sidecar's {@code rpc_proxy} (Dubbo, Bolt) listener named
     * {@code name}: one virtual host per service on it, built as for HTTP (VirtualService http routes,
     * weights, subsets; else one route to {@code outbound|<port>||<host>}), the proxy matching them
     * against the call's fields exposed as headers (docs/rpc.md). The domains are the service's names
     * and, because {@code :authority} is the interface, {@code *} when the listener has a single
     * service. Per-filter HTTP config (fault, CORS) is dropped: the RPC proxy has no HTTP filters.
     * No catch-all: a call to an unknown interface gets the protocol's no-route error.
     */
    static RouteConfiguration rpcRoutes(GenerationContext ctx, String name, List<Service> services, int port) {
        RouteConfiguration.Builder rc = RouteConfiguration.newBuilder().setName(name)
                .setValidateClusters(BoolValue.of(false));
        Set<String> used = new java.util.HashSet<>();
        for (Service s : services) {
            VirtualHost vh = serviceVirtualHost(ctx, s, s.port(port), true);
            VirtualHost.Builder b = vh.toBuilder().clearDomains().clearRoutes();
            for (Route r : vh.getRoutesList()) {
                b.addRoutes(r.toBuilder().clearTypedPerFilterConfig());
            }
            if (services.size() == 1) {
                b.addDomains("*");
            } else {
                for (String d : vh.getDomainsList()) {
                    if (used.add(d)) {
                        b.addDomains(d);
                    }
                }
            }
            if (b.getDomainsCount() > 0) {
                rc.addVirtualHosts(b);
            }
        }
        return rc.build();
    }

    private static VirtualHost serviceVirtualHost(GenerationContext ctx, Service s, ServicePort p,
                                                  boolean sidecar) {
        VirtualHost.Builder vh = VirtualHost.newBuilder().setName(s.hostname() + ':' + p.number())
                .addAllDomains(domains(ctx, s, p));
        Config<VirtualService> vs = virtualServiceFor(ctx, s.hostname(), null, null);
        List<Route> routes = vs == null ? List.of() : httpRoutes(ctx, vs, p.number(), null);
        if (routes.isEmpty()) {
            routes = List.of(defaultRoute(ctx, s.hostname(), p.number(), sidecar));
        }
        return vh.addAllRoutes(routes).build();
    }

    /** Istio's domains of a service's virtual host: FQDN and short names, with and without the port. */
    static List<String> domains(GenerationContext ctx, Service s, ServicePort p) {
        Set<String> names = new LinkedHashSet<>();
        String host = s.hostname();
        names.add(host);
        String svcSuffix = ".svc." + MeshSnapshot.DOMAIN_SUFFIX;
        if (host.endsWith(svcSuffix)) {
            String base = host.substring(0, host.length() - svcSuffix.length()); // name.ns
            int dot = base.lastIndexOf('.');
            if (dot > 0 && base.substring(dot + 1).equals(ctx.proxy.namespace())) {
                names.add(base.substring(0, dot));
            }
            names.add(base);
            names.add(base + ".svc");
        }
        names.addAll(s.addresses());
        List<String> out = new ArrayList<>();
        for (String n : names) {
            out.add(n);
            out.add(n + ':' + p.number());
        }
        return out;
    }

    private static Route defaultRoute(GenerationContext ctx, String host, int port, boolean sidecar) {
        RouteAction.Builder action = RouteAction.newBuilder()
                .setCluster(ClusterGenerator.outboundName(port, null, host))
                .setTimeout(com.google.protobuf.Duration.getDefaultInstance());
        if (sidecar) {
            action.setRetryPolicy(RetryPolicy.newBuilder().setRetryOn(DEFAULT_RETRY_ON)
                    .setNumRetries(Protos.u32(2)));
        }
        applyHashPolicy(ctx, action, host);
        return Route.newBuilder().setName("default").setMatch(RouteMatch.newBuilder().setPrefix("/"))
                .setRoute(action).build();
    }

    /**
     * Finds the VirtualService for {@code host} on {@code gateway} ({@code null} for the mesh) among those
     * exported to the proxy's namespace: an exact host match first, then the most specific wildcard.
     */
    static Config<VirtualService> virtualServiceFor(GenerationContext ctx, String host, String gateway,
                                                     String gatewayNamespace) {
        MeshSnapshot snapshot = ctx.snapshot;
        for (Config<VirtualService> vs : snapshot.virtualServicesForHost(host)) {
            if (ctx.visible(vs) && boundTo(vs, gateway, gatewayNamespace)) {
                return vs;
            }
        }
        Config<VirtualService> wildcard = null;
        int wildcardLen = -1;
        for (MeshSnapshot.HostIndexed<VirtualService> w : snapshot.wildcardVirtualServiceHosts()) {
            if (w.host().length() > wildcardLen && MeshSnapshot.hostMatches(w.host(), host)
                    && ctx.visible(w.config()) && boundTo(w.config(), gateway, gatewayNamespace)) {
                wildcard = w.config();
                wildcardLen = w.host().length();
            }
        }
        return wildcard;
    }

    private static boolean boundTo(Config<VirtualService> vs, String gateway, String gatewayNamespace) {
        List<String> gws = vs.spec().gateways();
        if (gateway == null) {
            return gws.isEmpty() || gws.contains("mesh");
        }
        for (String g : gws) {
            String full = g.contains("/") ? g : vs.meta().namespace() + '/' + g;
            if (full.equals(gatewayNamespace + '/' + gateway)) {
                return true;
            }
        }
        return false;
    }

    /** Translates a VirtualService's HTTP rules; {@code gateway} is {@code ns/name} or null for the mesh. */
    static List<Route> httpRoutes(GenerationContext ctx, Config<VirtualService> vs, int port, String gateway) {
        List<Route> routes = new ArrayList<>();
        String ns = vs.meta().namespace();
        for (VirtualService.HTTPRoute r : vs.spec().http()) {
            if (r.match().isEmpty()) {
                routes.add(route(ctx, r, null, ns, port, gateway));
                break; // a catch-all ends the list, as in Istio
            }
            for (VirtualService.HTTPMatchRequest m : r.match()) {
                if (applies(ctx, m, port, gateway, ns)) {
                    routes.add(route(ctx, r, m, ns, port, gateway));
                }
            }
        }
        return routes;
    }

    private static boolean applies(GenerationContext ctx, VirtualService.HTTPMatchRequest m, int port,
                                   String gateway, String vsNamespace) {
        if (m.port() != null && m.port() != port) {
            return false;
        }
        for (Map.Entry<String, String> e : m.sourceLabels().entrySet()) {
            if (!e.getValue().equals(ctx.proxy.labels().get(e.getKey()))) {
                return false;
            }
        }
        if (m.sourceNamespace() != null && !m.sourceNamespace().equals(ctx.proxy.namespace())) {
            return false;
        }
        if (!m.gateways().isEmpty()) {
            boolean any = false;
            for (String g : m.gateways()) {
                String full = g.equals("mesh") || g.contains("/") ? g : vsNamespace + '/' + g;
                any |= gateway == null ? full.equals("mesh") : full.equals(gateway);
            }
            return any;
        }
        return true;
    }

    private static Route route(GenerationContext ctx, VirtualService.HTTPRoute r, VirtualService.HTTPMatchRequest m,
                               String ns, int port, String gateway) {
        Route.Builder route = Route.newBuilder();
        String name = r.name() == null ? "" : r.name();
        if (m != null && m.name() != null) {
            name = name.isEmpty() ? m.name() : name + '.' + m.name();
        }
        route.setName(name);
        route.setMatch(match(m));
        boolean proxyless = ctx.proxy.type() == ProxyNode.Type.PROXYLESS_GRPC;
        if (r.redirect() != null) {
            route.setRedirect(redirect(r.redirect()));
        } else if (r.directResponse() != null) {
            DirectResponseAction.Builder d = DirectResponseAction.newBuilder().setStatus(r.directResponse().status());
            if (r.directResponse().body() != null && r.directResponse().body().string() != null) {
                d.setBody(DataSource.newBuilder().setInlineString(r.directResponse().body().string()));
            }
            route.setDirectResponse(d);
        } else {
            RouteAction.Builder action = RouteAction.newBuilder();
            List<VirtualService.HTTPRouteDestination> dests = new ArrayList<>();
            for (VirtualService.HTTPRouteDestination d : r.route()) {
                if (r.route().size() == 1 || d.weight() == null || d.weight() > 0) {
                    dests.add(d);
                }
            }
            if (dests.size() == 1) {
                VirtualService.HTTPRouteDestination d = dests.get(0);
                action.setCluster(clusterFor(ctx, d.destination(), ns, port));
                addHeaders(route, d.headers());
            } else {
                WeightedCluster.Builder wc = WeightedCluster.newBuilder();
                for (VirtualService.HTTPRouteDestination d : dests) {
                    WeightedCluster.ClusterWeight.Builder cw = WeightedCluster.ClusterWeight.newBuilder()
                            .setName(clusterFor(ctx, d.destination(), ns, port))
                            .setWeight(Protos.u32(d.weight() == null ? 0 : d.weight()));
                    if (d.headers() != null) {
                        if (d.headers().request() != null) {
                            cw.addAllRequestHeadersToAdd(headerOptions(d.headers().request()))
                                    .addAllRequestHeadersToRemove(d.headers().request().remove());
                        }
                        if (d.headers().response() != null) {
                            cw.addAllResponseHeadersToAdd(headerOptions(d.headers().response()))
                                    .addAllResponseHeadersToRemove(d.headers().response().remove());
                        }
                    }
                    wc.addClusters(cw);
                }
                action.setWeightedClusters(wc);
            }
            action.setTimeout(r.timeout() == null ? com.google.protobuf.Duration.getDefaultInstance()
                    : Protos.duration(r.timeout()));
            if (proxyless && r.timeout() != null) {
                // gRPC's xDS client reads the deadline from max_stream_duration, not timeout.
                action.setMaxStreamDuration(RouteAction.MaxStreamDuration.newBuilder()
                        .setMaxStreamDuration(Protos.duration(r.timeout())));
            }
            if (r.retries() != null) {
                int attempts = r.retries().attempts() == null ? 0 : r.retries().attempts();
                if (attempts > 0) {
                    RetryPolicy.Builder rp = RetryPolicy.newBuilder().setNumRetries(Protos.u32(attempts))
                            .setRetryOn(r.retries().retryOn() == null ? DEFAULT_RETRY_ON : r.retries().retryOn());
                    if (r.retries().perTryTimeout() != null) {
                        rp.setPerTryTimeout(Protos.duration(r.retries().perTryTimeout()));
                    }
                    action.setRetryPolicy(rp);
                }
            } else if (!proxyless) {
                action.setRetryPolicy(RetryPolicy.newBuilder().setRetryOn(DEFAULT_RETRY_ON)
                        .setNumRetries(Protos.u32(2)));
            }
            if (r.rewrite() != null) {
                if (r.rewrite().uri() != null) {
                    action.setPrefixRewrite(r.rewrite().uri());
                }
                if (r.rewrite().uriRegexRewrite() != null) {
                    action.setRegexRewrite(RegexMatchAndSubstitute.newBuilder()
                            .setPattern(RegexMatcher.newBuilder().setRegex(r.rewrite().uriRegexRewrite().match()))
                            .setSubstitution(r.rewrite().uriRegexRewrite().rewrite() == null ? ""
                                    : r.rewrite().uriRegexRewrite().rewrite()));
                }
                if (r.rewrite().authority() != null) {
                    action.setHostRewriteLiteral(r.rewrite().authority());
                }
            }
            if (r.mirror() != null) {
                double pct = r.mirrorPercentage() != null && r.mirrorPercentage().value() != null
                        ? r.mirrorPercentage().value()
                        : r.mirrorPercent() != null ? r.mirrorPercent() : 100;
                action.addRequestMirrorPolicies(RouteAction.RequestMirrorPolicy.newBuilder()
                        .setCluster(clusterFor(ctx, r.mirror(), ns, port))
                        .setRuntimeFraction(RuntimeFractionalPercent.newBuilder()
                                .setDefaultValue(Protos.percent(pct))));
            }
            if (!dests.isEmpty()) {
                applyHashPolicy(ctx, action,
                        MeshSnapshot.resolveShortName(dests.get(0).destination().host(), ns));
            }
            route.setRoute(action);
        }
        addHeaders(route, r.headers());
        if (r.fault() != null) {
            route.putTypedPerFilterConfig("envoy.filters.http.fault", Protos.any(fault(r.fault())));
        }
        if (r.corsPolicy() != null && !proxyless) {
            route.putTypedPerFilterConfig("envoy.filters.http.cors", Protos.any(cors(r.corsPolicy())));
        }
        return route.build();
    }

    private static RouteMatch match(VirtualService.HTTPMatchRequest m) {
        RouteMatch.Builder b = RouteMatch.newBuilder();
        if (m == null || Protos.isEmpty(m.uri())) {
            b.setPrefix("/");
        } else if (m.uri().exact() != null) {
            b.setPath(m.uri().exact());
        } else if (m.uri().prefix() != null) {
            b.setPrefix(m.uri().prefix());
        } else {
            b.setSafeRegex(RegexMatcher.newBuilder().setRegex(m.uri().regex()));
        }
        if (m == null) {
            return b.build();
        }
        if (Boolean.TRUE.equals(m.ignoreUriCase())) {
            b.setCaseSensitive(BoolValue.of(false));
        }
        for (Map.Entry<String, VirtualService.StringMatch> e : new TreeMap<>(m.headers()).entrySet()) {
            var claim = ClaimRouting.metadataMatcher(e.getKey(), e.getValue(), false);
            if (claim != null) {
                b.addDynamicMetadata(claim);
            } else {
                b.addHeaders(headerMatcher(e.getKey(), e.getValue(), false));
            }
        }
        for (Map.Entry<String, VirtualService.StringMatch> e : new TreeMap<>(m.withoutHeaders()).entrySet()) {
            var claim = ClaimRouting.metadataMatcher(e.getKey(), e.getValue(), true);
            if (claim != null) {
                b.addDynamicMetadata(claim);
            } else {
                b.addHeaders(headerMatcher(e.getKey(), e.getValue(), true));
            }
        }
        if (!Protos.isEmpty(m.method())) {
            b.addHeaders(headerMatcher(":method", m.method(), false));
        }
        if (!Protos.isEmpty(m.authority())) {
            b.addHeaders(headerMatcher(":authority", m.authority(), false));
        }
        if (!Protos.isEmpty(m.scheme())) {
            b.addHeaders(headerMatcher(":scheme", m.scheme(), false));
        }
        for (Map.Entry<String, VirtualService.StringMatch> e : new TreeMap<>(m.queryParams()).entrySet()) {
            QueryParameterMatcher.Builder q = QueryParameterMatcher.newBuilder().setName(e.getKey());
            if (Protos.isEmpty(e.getValue())) {
                q.setPresentMatch(true);
            } else {
                q.setStringMatch(Protos.stringMatcher(e.getValue(), false));
            }
            b.addQueryParameters(q);
        }
        return b.build();
    }

    private static HeaderMatcher headerMatcher(String name, VirtualService.StringMatch m, boolean invert) {
        HeaderMatcher.Builder h = HeaderMatcher.newBuilder().setName(name);
        if (Protos.isEmpty(m)) {
            h.setPresentMatch(true);
        } else {
            h.setStringMatch(Protos.stringMatcher(m, false));
        }
        if (invert) {
            h.setInvertMatch(true);
        }
        return h.build();
    }

    private static RedirectAction redirect(VirtualService.HTTPRedirect r) {
        RedirectAction.Builder b = RedirectAction.newBuilder();
        if (r.uri() != null) {
            b.setPathRedirect(r.uri());
        }
        if (r.authority() != null) {
            b.setHostRedirect(r.authority());
        }
        if (r.port() != null) {
            b.setPortRedirect(r.port());
        }
        if (r.scheme() != null) {
            b.setSchemeRedirect(r.scheme());
        }
        int code = r.redirectCode() == null ? 301 : r.redirectCode();
        b.setResponseCode(switch (code) {
            case 302 -> RedirectAction.RedirectResponseCode.FOUND;
            case 303 -> RedirectAction.RedirectResponseCode.SEE_OTHER;
            case 307 -> RedirectAction.RedirectResponseCode.TEMPORARY_REDIRECT;
            case 308 -> RedirectAction.RedirectResponseCode.PERMANENT_REDIRECT;
            default -> RedirectAction.RedirectResponseCode.MOVED_PERMANENTLY;
        });
        return b.build();
    }

    private static String clusterFor(GenerationContext ctx, VirtualService.Destination d, String ns, int port) {
        String host = MeshSnapshot.resolveShortName(d.host(), ns);
        int p = port;
        if (d.port() != null && d.port().number() != null) {
            p = d.port().number();
        } else {
            Service s = ctx.snapshot.service(host);
            if (s != null && s.ports().size() == 1) {
                p = s.ports().get(0).number();
            }
        }
        return ClusterGenerator.outboundName(p, d.subset(), host);
    }

    private static void applyHashPolicy(GenerationContext ctx, RouteAction.Builder action, String host) {
        DestinationRule dr = ctx.destinationRule(host);
        if (dr == null || dr.trafficPolicy() == null || dr.trafficPolicy().loadBalancer() == null
                || dr.trafficPolicy().loadBalancer().consistentHash() == null) {
            return;
        }
        DestinationRule.ConsistentHashLB ch = dr.trafficPolicy().loadBalancer().consistentHash();
        RouteAction.HashPolicy.Builder hp = RouteAction.HashPolicy.newBuilder();
        if (ch.httpHeaderName() != null) {
            hp.setHeader(RouteAction.HashPolicy.Header.newBuilder().setHeaderName(ch.httpHeaderName()));
        } else if (ch.httpCookie() != null) {
            RouteAction.HashPolicy.Cookie.Builder c = RouteAction.HashPolicy.Cookie.newBuilder()
                    .setName(ch.httpCookie().name());
            if (ch.httpCookie().path() != null) {
                c.setPath(ch.httpCookie().path());
            }
            if (ch.httpCookie().ttl() != null) {
                c.setTtl(Protos.duration(ch.httpCookie().ttl()));
            }
            hp.setCookie(c);
        } else if (Boolean.TRUE.equals(ch.useSourceIp())) {
            hp.setConnectionProperties(RouteAction.HashPolicy.ConnectionProperties.newBuilder().setSourceIp(true));
        } else if (ch.httpQueryParameterName() != null) {
            hp.setQueryParameter(RouteAction.HashPolicy.QueryParameter.newBuilder()
                    .setName(ch.httpQueryParameterName()));
        }
        action.addHashPolicy(hp);
    }

    private static void addHeaders(Route.Builder route, VirtualService.Headers h) {
        if (h == null) {
            return;
        }
        if (h.request() != null) {
            route.addAllRequestHeadersToAdd(headerOptions(h.request()))
                    .addAllRequestHeadersToRemove(h.request().remove());
        }
        if (h.response() != null) {
            route.addAllResponseHeadersToAdd(headerOptions(h.response()))
                    .addAllResponseHeadersToRemove(h.response().remove());
        }
    }

    private static List<HeaderValueOption> headerOptions(VirtualService.HeaderOperations ops) {
        List<HeaderValueOption> out = new ArrayList<>();
        for (Map.Entry<String, String> e : new TreeMap<>(ops.set()).entrySet()) {
            out.add(HeaderValueOption.newBuilder()
                    .setHeader(HeaderValue.newBuilder().setKey(e.getKey()).setValue(e.getValue()))
                    .setAppendAction(HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD).build());
        }
        for (Map.Entry<String, String> e : new TreeMap<>(ops.add()).entrySet()) {
            out.add(HeaderValueOption.newBuilder()
                    .setHeader(HeaderValue.newBuilder().setKey(e.getKey()).setValue(e.getValue()))
                    .setAppendAction(HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD).build());
        }
        return out;
    }

    private static HTTPFault fault(VirtualService.HTTPFaultInjection f) {
        HTTPFault.Builder b = HTTPFault.newBuilder();
        if (f.delay() != null) {
            double pct = f.delay().percentage() != null && f.delay().percentage().value() != null
                    ? f.delay().percentage().value() : f.delay().percent() != null ? f.delay().percent() : 100;
            b.setDelay(FaultDelay.newBuilder().setFixedDelay(Protos.duration(f.delay().fixedDelay()))
                    .setPercentage(Protos.percent(pct)));
        }
        if (f.abort() != null) {
            double pct = f.abort().percentage() != null && f.abort().percentage().value() != null
                    ? f.abort().percentage().value() : 100;
            FaultAbort.Builder a = FaultAbort.newBuilder().setPercentage(Protos.percent(pct));
            if (f.abort().httpStatus() != null) {
                a.setHttpStatus(f.abort().httpStatus());
            } else if (f.abort().grpcStatus() != null) {
                a.setGrpcStatus(grpcCode(f.abort().grpcStatus()));
            }
            b.setAbort(a);
        }
        return b.build();
    }

    private static int grpcCode(String status) {
        try {
            return io.grpc.Status.Code.valueOf(status).value();
        } catch (IllegalArgumentException e) {
            return io.grpc.Status.Code.UNKNOWN.value();
        }
    }

    private static CorsPolicy cors(VirtualService.CorsPolicy c) {
        CorsPolicy.Builder b = CorsPolicy.newBuilder();
        for (VirtualService.StringMatch m : c.allowOrigins()) {
            b.addAllowOriginStringMatch(Protos.stringMatcher(m, false));
        }
        for (String o : c.allowOrigin()) {
            b.addAllowOriginStringMatch(io.envoyproxy.envoy.type.matcher.v3.StringMatcher.newBuilder().setExact(o));
        }
        if (!c.allowMethods().isEmpty()) {
            b.setAllowMethods(String.join(",", c.allowMethods()));
        }
        if (!c.allowHeaders().isEmpty()) {
            b.setAllowHeaders(String.join(",", c.allowHeaders()));
        }
        if (!c.exposeHeaders().isEmpty()) {
            b.setExposeHeaders(String.join(",", c.exposeHeaders()));
        }
        if (c.maxAge() != null) {
            b.setMaxAge(String.valueOf(Protos.duration(c.maxAge()).getSeconds()));
        }
        if (c.allowCredentials() != null) {
            b.setAllowCredentials(BoolValue.of(c.allowCredentials()));
        }
        return b.build();
    }

    private static boolean httpsRedirect(Gateway.Server server) {
        return server.tls() != null && Boolean.TRUE.equals(server.tls().httpsRedirect());
    }

    /**
     * Istio's {@code httpsRedirect}: {@code require_tls: ALL} on the virtual host (Envoy answers a plaintext
     * request with a 301 to its https URL before routing), and the same as its only route,
     * {@code redirect {https_redirect: true}} (301), for proxies that route before they look at require_tls.
     */
    private static VirtualHost.Builder redirectToHttps(VirtualHost.Builder vh) {
        return vh.setRequireTls(VirtualHost.TlsRequirementType.ALL)
                .addRoutes(Route.newBuilder().setName("https-redirect")
                        .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                        .setRedirect(io.envoyproxy.envoy.config.route.v3.RedirectAction.newBuilder()
                                .setHttpsRedirect(true)));
    }

    private static RouteConfiguration gatewayRoutes(GenerationContext ctx, GatewayServer gs) {
        RouteConfiguration.Builder rc = RouteConfiguration.newBuilder().setName(gs.routeName())
                .setValidateClusters(BoolValue.of(false));
        Map<String, VirtualHost> vhosts = new TreeMap<>();
        for (GatewayServer member : gs.sameRoute(ctx)) {
            Gateway.Server server = member.server();
            for (Config<VirtualService> vs : ctx.snapshot.virtualServices()) {
                if (!ctx.visible(vs) || !boundTo(vs, member.gatewayName(), member.gatewayNamespace())) {
                    continue;
                }
                if (vs.spec().http().isEmpty()) {
                    continue;
                }
                for (String h : vs.spec().hosts()) {
                    String vsHost = MeshSnapshot.resolveShortName(h, vs.meta().namespace());
                    // The virtual host is the more specific of the VirtualService's and the server's host.
                    for (String host : member.intersect(vsHost, vs.meta().namespace())) {
                        if (vhosts.containsKey(host)) {
                            continue;
                        }
                        List<Route> routes = httpRoutes(ctx, vs, gs.port(),
                                member.gatewayNamespace() + '/' + member.gatewayName());
                        if (routes.isEmpty()) {
                            continue;
                        }
                        VirtualHost.Builder vh = VirtualHost.newBuilder().setName(host + ':' + gs.port())
                                .addDomains(host);
                        if (!host.equals("*")) {
                            vh.addDomains(host + ':' + gs.port());
                        }
                        if (httpsRedirect(server)) {
                            vhosts.put(host, redirectToHttps(vh).build());
                            continue;
                        }
                        vhosts.put(host, vh.addAllRoutes(routes).build());
                    }
                }
            }
        }
        // httpsRedirect redirects every request, routes or not: a virtual host per server host that has none.
        for (GatewayServer member : gs.sameRoute(ctx)) {
            if (!httpsRedirect(member.server())) {
                continue;
            }
            for (String h : member.server().hosts()) {
                String host = h.contains("/") ? h.substring(h.indexOf('/') + 1) : h;
                if (!vhosts.containsKey(host)) {
                    VirtualHost.Builder vh = VirtualHost.newBuilder().setName(host + ':' + gs.port()).addDomains(host);
                    if (!host.equals("*")) {
                        vh.addDomains(host + ':' + gs.port());
                    }
                    vhosts.put(host, redirectToHttps(vh).build());
                }
            }
        }
        if (vhosts.isEmpty()) {
            rc.addVirtualHosts(VirtualHost.newBuilder().setName("blackhole:" + gs.port()).addDomains("*")
                    .addRoutes(Route.newBuilder().setName("default")
                            .setMatch(RouteMatch.newBuilder().setPrefix("/"))
                            .setDirectResponse(DirectResponseAction.newBuilder().setStatus(404))));
        }
        rc.addAllVirtualHosts(vhosts.values());
        return rc.build();
    }
}
