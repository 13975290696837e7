package io.jmesh.discovery.xds;

import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.google.protobuf.Any;
import com.google.protobuf.Empty;
import com.google.protobuf.util.Durations;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.HttpUri;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtClaimToHeader;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtHeader;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtProvider;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtRequirementOrList;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RemoteJwks;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.RequirementRule;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.Labels;
import io.jmesh.discovery.config.ConfigValidator;
import io.jmesh.discovery.config.RequestAuthentication;
import io.jmesh.discovery.model.ResolvedJwks;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.model.ServicePort;
import io.jmesh.proxy.config.ConfigException;

/**
 * RequestAuthentication as Envoy config, the way istiod builds it ({@code pilot/pkg/security/authn}): the
 * {@code jwtRules} of every policy that applies to the proxy become providers {@code origins-0..n} of one
 * {@code envoy.filters.http.jwt_authn} filter, required by one rule on {@code /} as
 * {@code requires_any: [origins-0, ..., allow_missing]} (an invalid token is rejected, a missing one passes), with
 * the payload in metadata under {@code payload} and CORS preflights bypassed; Istio's {@code istio_authn} filter
 * follows. On gateways the providers clear the route cache, so routes can match {@code @request.auth.claims}.
 *
 * <p>A policy applies when it is in the root namespace ({@value #ROOT_NAMESPACE}) without selector, in the proxy's
 * namespace without selector, in the proxy's namespace with a selector its labels match, or (gateways) with a
 * {@code targetRef} to the proxy's Kubernetes Gateway ({@code gateway.networking.k8s.io/gateway-name} label).
 *
 * <p>An inline {@code jwks} becomes {@code local_jwks}. A rule with neither gets the keys discovery found by OpenID
 * discovery ({@link io.jmesh.discovery.authn.JwksResolver}) inline, or istiod's fake key while they cannot be
 * fetched. A {@code jwksUri} depends on {@code PILOT_JWT_ENABLE_REMOTE_JWKS} ({@link ResolvedJwks.FetchMode}):
 * {@code envoy} (jmesh's default): the proxy fetches it ({@code remote_jwks}) through the outbound cluster of the
 * mesh service of that host and port when there is one, else through a cluster discovery adds for it, named as an
 * outbound cluster would be ({@code outbound|<port>||<host>}, DNS, TLS with the system roots for https);
 * {@code hybrid}: the proxy for a mesh service's URI, discovery (inline) for others; {@code istiod}: discovery.
 */
final class RequestAuthnFilters {

    /** Istio's default root namespace (MeshConfig {@code rootNamespace}). */
    static final String ROOT_NAMESPACE = "istio-system";
    /** Where the verified payload goes in {@code envoy.filters.http.jwt_authn} metadata (Istio's key). */
    static final String PAYLOAD_KEY = "payload";
    static final String JWT_FILTER = "envoy.filters.http.jwt_authn";
    static final String ISTIO_AUTHN_FILTER = "istio_authn";
    static final String ISTIO_AUTHN_TYPE_URL = "type.googleapis.com/istio.envoy.config.filter.http.authn.v2alpha1.FilterConfig";
    /** The system CA bundle a proxy trusts for JWKS servers outside the mesh. */
    static final String SYSTEM_ROOTS = "/etc/ssl/certs/ca-certificates.crt";
    private static final String GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name";

    private RequestAuthnFilters() {}

    /** The jwt_authn and istio_authn filters for this proxy, or none when no policy applies. */
    static List<HttpFilter> httpFilters(GenerationContext ctx) {
        List<RequestAuthentication.JWTRule> rules = rules(ctx);
        if (rules.isEmpty()) {
            return List.of();
        }
        boolean gateway = ctx.proxy.type() == ProxyNode.Type.ROUTER;
        JwtAuthentication.Builder jwt = JwtAuthentication.newBuilder().setBypassCorsPreflight(true);
        JwtRequirementOrList.Builder any = JwtRequirementOrList.newBuilder();
        for (int i = 0; i < rules.size(); i++) {
            String name = "origins-" + i;
            jwt.putProviders(name, provider(ctx, rules.get(i), gateway));
            any.addRequirements(JwtRequirement.newBuilder().setProviderName(name));
        }
        any.addRequirements(JwtRequirement.newBuilder().setAllowMissing(Empty.getDefaultInstance()));
        jwt.addRules(RequirementRule.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/"))
                .setRequires(JwtRequirement.newBuilder().setRequiresAny(any)));
        return List.of(
                HttpFilter.newBuilder().setName(JWT_FILTER).setTypedConfig(Protos.any(jwt.build())).build(),
                HttpFilter.newBuilder().setName(ISTIO_AUTHN_FILTER)
                        .setTypedConfig(Any.newBuilder().setTypeUrl(ISTIO_AUTHN_TYPE_URL)).build());
    }

    /** The clusters discovery adds for JWKS hosts that are not mesh services, by name. */
    static Map<String, Cluster> clusters(GenerationContext ctx) {
        Map<String, Cluster> out = new LinkedHashMap<>();
        for (RequestAuthentication.JWTRule r : rules(ctx)) {
            if (r.jwksUri() == null || r.jwksUri().isEmpty() || (r.jwks() != null && !r.jwks().isEmpty())
                    || ctx.snapshot.jwks().mode() != ResolvedJwks.FetchMode.ENVOY) {
                continue; // inline keys; or the proxy fetches only mesh services' jwksUri (hybrid) or none (istiod)
            }
            URI uri = uri(r.jwksUri());
            if (meshCluster(ctx, uri) == null) {
                Cluster c = jwksCluster(uri);
                out.putIfAbsent(c.getName(), c);
            }
        }
        return out;
    }

    /** The rules of the policies that apply to the proxy, policies in key order, rules in file order. */
    static List<RequestAuthentication.JWTRule> rules(GenerationContext ctx) {
        List<RequestAuthentication.JWTRule> out = new ArrayList<>();
        for (Config<RequestAuthentication> c : ctx.snapshot.config().<RequestAuthentication>of(ConfigKind.REQUEST_AUTHENTICATION)) {
            if (applies(ctx, c)) {
                out.addAll(c.spec().jwtRules());
            }
        }
        return out;
    }

    private static boolean applies(GenerationContext ctx, Config<RequestAuthentication> c) {
        String ns = c.meta().namespace();
        RequestAuthentication ra = c.spec();
        if (ra.targetRef() != null || !ra.targetRefs().isEmpty()) {
            if (ctx.proxy.type() != ProxyNode.Type.ROUTER || !ns.equals(ctx.proxy.namespace())) {
                return false;
            }
            List<RequestAuthentication.PolicyTargetReference> refs = new ArrayList<>(ra.targetRefs());
            if (ra.targetRef() != null) {
                refs.add(ra.targetRef());
            }
            for (RequestAuthentication.PolicyTargetReference ref : refs) {
                if ("Gateway".equals(ref.kind()) && ref.name().equals(ctx.proxy.labels().get(GATEWAY_NAME_LABEL))) {
                    return true;
                }
            }
            return false;
        }
        if (!ra.hasSelector()) {
            return ns.equals(ROOT_NAMESPACE) || ns.equals(ctx.proxy.namespace());
        }
        return ns.equals(ctx.proxy.namespace()) && Labels.selects(ra.selector().matchLabels(), ctx.proxy.labels());
    }

    private static JwtProvider provider(GenerationContext ctx, RequestAuthentication.JWTRule r, boolean gateway) {
        JwtProvider.Builder p = JwtProvider.newBuilder()
                .setIssuer(r.issuer())
                .addAllAudiences(r.audiences())
                .setForward(Boolean.TRUE.equals(r.forwardOriginalToken()))
                .setPayloadInMetadata(PAYLOAD_KEY)
                .addAllFromParams(r.fromParams())
                .addAllFromCookies(r.fromCookies());
        for (RequestAuthentication.JWTHeader h : r.fromHeaders()) {
            p.addFromHeaders(JwtHeader.newBuilder().setName(h.name()).setValuePrefix(h.prefix() == null ? "" : h.prefix()));
        }
        if (r.outputPayloadToHeader() != null && !r.outputPayloadToHeader().isEmpty()) {
            p.setForwardPayloadHeader(r.outputPayloadToHeader());
        }
        for (RequestAuthentication.ClaimToHeader c : r.outputClaimToHeaders()) {
            p.addClaimToHeaders(JwtClaimToHeader.newBuilder().setHeaderName(c.header()).setClaimName(c.claim()));
        }
        if (gateway) {
            p.setClearRouteCache(true);
        }
        boolean hasUri = r.jwksUri() != null && !r.jwksUri().isEmpty();
        String cluster = hasUri ? meshCluster(ctx, uri(r.jwksUri())) : null;
        ResolvedJwks resolved = ctx.snapshot.jwks();
        if (r.jwks() != null && !r.jwks().isEmpty()) {
            p.setLocalJwks(DataSource.newBuilder().setInlineString(r.jwks()));
        } else if (ResolvedJwks.resolvedByDiscovery(r, resolved.mode(), cluster != null)) {
            // istiod's BuildLocalJwks: the keys discovery fetched (OpenID discovery without jwksUri), inline; while
            // they cannot be fetched, istiod's fake key, so that every token of this issuer is refused.
            String keys = resolved.get(new ResolvedJwks.Key(r.issuer(), hasUri ? r.jwksUri() : ""));
            p.setLocalJwks(DataSource.newBuilder().setInlineString(keys != null ? keys : FAKE_JWKS));
        } else {
            URI uri = uri(r.jwksUri());
            p.setRemoteJwks(RemoteJwks.newBuilder()
                    .setHttpUri(HttpUri.newBuilder().setUri(r.jwksUri())
                            .setCluster(cluster != null ? cluster : jwksClusterName(uri))
                            .setTimeout(Durations.fromMillis(timeoutMillis(r))))
                    .setCacheDuration(Durations.fromSeconds(300)));
        }
        return p.build();
    }

    /** istiod's placeholder key for an issuer whose keys it cannot get: no real token verifies with it. */
    static final String FAKE_JWKS = "{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"xAE7eB6qugXyCAG3yhh7pkDkT65pHymX-P7KfIupjf59vsdo91bSP9C8H07pSAGQO1MV_xFj9VswgsCg4R6otmg5PV2He95lZdHtOcU5DXIg_pbhLdKXbi66GlVeK6ABZOUW3WYtnNHD-91gVuoeJT_DwtGGcp4ignkgXfkiEm4sw-4sfb4qdt5oLbyVpmW6x9cfa7vs2WTfURiCrBoUqgBo_-4WTiULmmHSGZHOjzwa8WtrtOQGsAFjIbno85jp6MnGGGZPYZbDAa_b3y5u-YpW7ypZrvD8BgtKVjgtQgZhLAGezMt0ua3DRrWnKqTZ0BJ_EyxOGuHJrLsn00fnMQ\"}]}";

    private static long timeoutMillis(RequestAuthentication.JWTRule r) {
        if (r.timeout() == null) {
            return 5_000; // istiod's default JWKS fetch timeout
        }
        try {
            return ConfigValidator.parseDuration(r.timeout(), "timeout", java.time.Duration.ofMillis(1)).toMillis();
        } catch (ConfigException e) {
            return 5_000; // validated on parse
        }
    }

    private static URI uri(String jwksUri) {
        return URI.create(jwksUri); // validated on parse
    }

    private static int port(URI uri) {
        return uri.getPort() > 0 ? uri.getPort() : "https".equals(uri.getScheme()) ? 443 : 80;
    }

    /** The outbound cluster of the mesh service serving the JWKS host and port, or null. */
    private static String meshCluster(GenerationContext ctx, URI uri) {
        Service s = ctx.snapshot.service(uri.getHost());
        if (s == null) {
            return null;
        }
        for (ServicePort p : s.ports()) {
            if (p.number() == port(uri)) {
                return ClusterGenerator.outboundName(p.number(), null, s.hostname());
            }
        }
        return null;
    }

    private static String jwksClusterName(URI uri) {
        return ClusterGenerator.outboundName(port(uri), null, uri.getHost());
    }

    private static Cluster jwksCluster(URI uri) {
        String host = uri.getHost();
        boolean ip = host.matches("[0-9.]+") || host.contains(":");
        String name = jwksClusterName(uri);
        Cluster.Builder c = Cluster.newBuilder()
                .setName(name)
                .setType(ip ? Cluster.DiscoveryType.STATIC : Cluster.DiscoveryType.STRICT_DNS)
                .setConnectTimeout(Durations.fromSeconds(10))
                .setLoadAssignment(ClusterLoadAssignment.newBuilder().setClusterName(name)
                        .addEndpoints(LocalityLbEndpoints.newBuilder().addLbEndpoints(LbEndpoint.newBuilder()
                                .setEndpoint(io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                                        .setAddress(ClusterGenerator.address(host.replace("[", "").replace("]", ""), port(uri)))))));
        if ("https".equals(uri.getScheme())) {
            UpstreamTlsContext tls = UpstreamTlsContext.newBuilder().setSni(host)
                    .setCommonTlsContext(CommonTlsContext.newBuilder().setValidationContext(
                            CertificateValidationContext.newBuilder()
                                    .setTrustedCa(DataSource.newBuilder().setFilename(SYSTEM_ROOTS))))
                    .build();
            c.setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls")
                    .setTypedConfig(Protos.any(tls)));
        }
        return c.build();
    }
}
