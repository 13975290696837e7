package io.jmesh.discovery.config;

import java.util.List;
import java.util.Map;

/**
 * The spec of Istio's {@code VirtualService}: routing rules for traffic to {@code hosts}, from
 * sidecars ({@code mesh}) or the named {@code gateways}. Durations are kept as Istio writes them
 * ({@code "1.5s"}, {@code "300ms"}) and checked by {@link ConfigValidator}.
 *
 * @see <a href="https://istio.io/latest/docs/reference/config/networking/virtual-service/">VirtualService</a>
 */
public record VirtualService(List<String> hosts, List<String> gateways, List<HTTPRoute> http,
                             List<TCPRoute> tcp, List<TLSRoute> tls, List<String> exportTo) {

    public VirtualService {
        hosts = hosts == null ? List.of() : List.copyOf(hosts);
        gateways = gateways == null ? List.of() : List.copyOf(gateways);
        http = http == null ? List.of() : List.copyOf(http);
        tcp = tcp == null ? List.of() : List.copyOf(tcp);
        tls = tls == null ? List.of() : List.copyOf(tls);
        exportTo = exportTo == null ? List.of() : List.copyOf(exportTo);
    }

    /** One HTTP rule: matches, then destinations or a redirect, and what to do on the way. */
    public record HTTPRoute(String name, List<HTTPMatchRequest> match, List<HTTPRouteDestination> route,
                            HTTPRedirect redirect, HTTPDirectResponse directResponse, HTTPRewrite rewrite,
                            String timeout, HTTPRetry retries, HTTPFaultInjection fault, Destination mirror,
                            Percent mirrorPercentage, Integer mirrorPercent, CorsPolicy corsPolicy,
                            Headers headers, Delegate delegate) {
        public HTTPRoute {
            match = match == null ? List.of() : List.copyOf(match);
            route = route == null ? List.of() : List.copyOf(route);
        }
    }

    /**
     * A root VirtualService's pointer to a delegate VirtualService (one without {@code hosts}) whose HTTP routes
     * replace this route; {@code namespace} defaults to the root's.
     */
    public record Delegate(String name, String namespace) {}

    /** Returns whether this is a delegate VirtualService: one without {@code hosts}, merged into a root's route. */
    public boolean isDelegate() {
        return hosts.isEmpty();
    }

    /** Returns whether some HTTP route of this VirtualService delegates to another. */
    public boolean isRoot() {
        for (HTTPRoute r : http) {
            if (r.delegate() != null) {
                return true;
            }
        }
        return false;
    }

    /** A request match; all set conditions must hold. */
    public record HTTPMatchRequest(String name, StringMatch uri, StringMatch scheme, StringMatch method,
                                   StringMatch authority, Map<String, StringMatch> headers, Integer port,
                                   Map<String, String> sourceLabels, List<String> gateways,
                                   Map<String, StringMatch> queryParams, Boolean ignoreUriCase,
                                   Map<String, StringMatch> withoutHeaders, String sourceNamespace) {
        public HTTPMatchRequest {
            headers = headers == null ? Map.of() : Map.copyOf(headers);
            sourceLabels = sourceLabels == null ? Map.of() : Map.copyOf(sourceLabels);
            gateways = gateways == null ? List.of() : List.copyOf(gateways);
            queryParams = queryParams == null ? Map.of() : Map.copyOf(queryParams);
            withoutHeaders = withoutHeaders == null ? Map.of() : Map.copyOf(withoutHeaders);
        }
    }

    /** Exactly one of {@code exact}, {@code prefix}, {@code regex} (RE2 syntax). */
    public record StringMatch(String exact, String prefix, String regex) {}

    /** A weighted destination. */
    public record HTTPRouteDestination(Destination destination, Integer weight, Headers headers) {}

    /** A service host (short or fully qualified), optional subset of its DestinationRule and port. */
    public record Destination(String host, String subset, PortSelector port) {}

    /** A port by number. */
    public record PortSelector(Integer number) {}

    /** A redirect (301 unless {@code redirectCode}). */
    public record HTTPRedirect(String uri, String authority, Integer port, String derivePort, String scheme,
                               Integer redirectCode) {}

    /** A fixed response. */
    public record HTTPDirectResponse(Integer status, HTTPBody body) {}

    /** The body of a direct response. */
    public record HTTPBody(String string, String bytes) {}

    /** A rewrite of the path prefix (or by regex) and the authority. */
    public record HTTPRewrite(String uri, String authority, RegexRewrite uriRegexRewrite) {}

    /** An RE2 rewrite of the whole path. */
    public record RegexRewrite(String match, String rewrite) {}

    /** Retry policy. */
    public record HTTPRetry(Integer attempts, String perTryTimeout, String retryOn, Boolean retryRemoteLocalities) {}

    /** Fault injection: a delay, an abort, or both. */
    public record HTTPFaultInjection(Delay delay, Abort abort) {
        /** A fixed delay for a percentage of requests. */
        public record Delay(String fixedDelay, Percent percentage, Integer percent, String exponentialDelay) {}

        /** An abort with an HTTP or gRPC status for a percentage of requests. */
        public record Abort(Integer httpStatus, String grpcStatus, String http2Error, Percent percentage) {}
    }

    /** A percentage in [0, 100]. */
    public record Percent(Double value) {}

    /** Header edits on the request and the response. */
    public record Headers(HeaderOperations request, HeaderOperations response) {}

    /** Set, add and remove header operations. */
    public record HeaderOperations(Map<String, String> set, Map<String, String> add, List<String> remove) {
        public HeaderOperations {
            set = set == null ? Map.of() : Map.copyOf(set);
            add = add == null ? Map.of() : Map.copyOf(add);
            remove = remove == null ? List.of() : List.copyOf(remove);
        }
    }

    /** CORS policy. */
    public record CorsPolicy(List<StringMatch> allowOrigins, List<String> allowOrigin, List<String> allowMethods,
                             List<String> allowHeaders, List<String> exposeHeaders, String maxAge,
                             Boolean allowCredentials, String unmatchedPreflights) {
        public CorsPolicy {
            allowOrigins = allowOrigins == null ? List.of() : List.copyOf(allowOrigins);
            allowOrigin = allowOrigin == null ? List.of() : List.copyOf(allowOrigin);
            allowMethods = allowMethods == null ? List.of() : List.copyOf(allowMethods);
            allowHeaders = allowHeaders == null ? List.of() : List.copyOf(allowHeaders);
            exposeHeaders = exposeHeaders == null ? List.of() : List.copyOf(exposeHeaders);
        }
    }

    /** A TCP rule. */
    public record TCPRoute(List<L4MatchAttributes> match, List<RouteDestination> route) {
        public TCPRoute {
            match = match == null ? List.of() : List.copyOf(match);
            route = route == null ? List.of() : List.copyOf(route);
        }
    }

    /** A TLS (SNI) rule. */
    public record TLSRoute(List<TLSMatchAttributes> match, List<RouteDestination> route) {
        public TLSRoute {
            match = match == null ? List.of() : List.copyOf(match);
            route = route == null ? List.of() : List.copyOf(route);
        }
    }

    /** L4 match conditions. */
    public record L4MatchAttributes(List<String> destinationSubnets, Integer port, Map<String, String> sourceLabels,
                                    List<String> gateways, String sourceNamespace) {}

    /** TLS match conditions. */
    public record TLSMatchAttributes(List<String> sniHosts, List<String> destinationSubnets, Integer port,
                                     Map<String, String> sourceLabels, List<String> gateways,
                                     String sourceNamespace) {}

    /** A weighted L4 destination. */
    public record RouteDestination(Destination destination, Integer weight) {}
}
