package io.jmesh.discovery.config;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;
import java.util.Map;

/**
 * The subset of Istio's MeshConfig that discovery uses. Unknown fields are ignored (a mesh config
 * file carries many settings meant for other components).
 *
 * @param rootNamespace      the namespace whose policies apply mesh-wide ({@code istio-system} when unset)
 * @param extensionProviders the providers that CUSTOM AuthorizationPolicies name (ext_authz over HTTP or gRPC)
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record MeshConfig(String trustDomain, Sidecar.OutboundTrafficPolicy outboundTrafficPolicy,
                         String accessLogFile, Map<String, Object> defaultConfig, String rootNamespace,
                         Boolean enableAutoMtls, String accessLogFormat, List<ExtensionProvider> extensionProviders) {

    /** Istio's defaults: trust domain {@code cluster.local}, ALLOW_ANY, no access log, root namespace istio-system. */
    public static final MeshConfig DEFAULT =
            new MeshConfig("cluster.local", new Sidecar.OutboundTrafficPolicy("ALLOW_ANY", null), "", Map.of());

    public MeshConfig {
        trustDomain = trustDomain == null ? "cluster.local" : trustDomain;
        outboundTrafficPolicy = outboundTrafficPolicy == null
                ? new Sidecar.OutboundTrafficPolicy("ALLOW_ANY", null) : outboundTrafficPolicy;
        accessLogFile = accessLogFile == null ? "" : accessLogFile;
        defaultConfig = defaultConfig == null ? Map.of() : Map.copyOf(defaultConfig);
        rootNamespace = rootNamespace == null || rootNamespace.isEmpty() ? "istio-system" : rootNamespace;
        enableAutoMtls = enableAutoMtls == null ? Boolean.TRUE : enableAutoMtls;
        accessLogFormat = accessLogFormat == null ? "" : accessLogFormat;
        extensionProviders = extensionProviders == null ? List.of()
                : java.util.Collections.unmodifiableList(new java.util.ArrayList<>(extensionProviders));
    }

    /** The settings other than the root namespace and extension providers, with Istio's defaults for those. */
    public MeshConfig(String trustDomain, Sidecar.OutboundTrafficPolicy outboundTrafficPolicy, String accessLogFile,
                      Map<String, Object> defaultConfig) {
        this(trustDomain, outboundTrafficPolicy, accessLogFile, defaultConfig, null, null, null, null);
    }

    /** A mesh config with Istio's default access log format and no extension providers. */
    public MeshConfig(String trustDomain, Sidecar.OutboundTrafficPolicy outboundTrafficPolicy, String accessLogFile,
                      Map<String, Object> defaultConfig, String rootNamespace, Boolean enableAutoMtls) {
        this(trustDomain, outboundTrafficPolicy, accessLogFile, defaultConfig, rootNamespace, enableAutoMtls, null,
                null);
    }

    /** Returns whether client sidecars pick mTLS by themselves toward sidecar endpoints (Istio's auto mTLS). */
    public boolean autoMtls() {
        return enableAutoMtls;
    }

    /** Returns whether traffic to hosts outside the registry is refused. */
    public boolean registryOnly() {
        return "REGISTRY_ONLY".equals(outboundTrafficPolicy.mode());
    }

    /** Returns a copy with {@code rootNamespace} and {@code extensionProviders} replaced. */
    public MeshConfig withAuthorization(String rootNamespace, List<ExtensionProvider> extensionProviders) {
        return new MeshConfig(trustDomain, outboundTrafficPolicy, accessLogFile, defaultConfig, rootNamespace,
                enableAutoMtls, accessLogFormat, extensionProviders);
    }

    /** Returns the extension provider named {@code name}, or {@code null}. */
    public ExtensionProvider extensionProvider(String name) {
        for (ExtensionProvider p : extensionProviders) {
            if (p != null && name.equals(p.name())) {
                return p;
            }
        }
        return null;
    }

    /**
     * One of MeshConfig's {@code extensionProviders}. Only the ext_authz kinds are read; a provider of another
     * kind (tracing, access log, ...) has both fields null here, and a CUSTOM policy naming it is refused.
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record ExtensionProvider(String name, EnvoyExtAuthzHttp envoyExtAuthzHttp,
                                    EnvoyExtAuthzGrpc envoyExtAuthzGrpc) {}

    /** {@code envoyExtAuthzHttp}: Envoy's ext_authz filter calling an HTTP authorization service. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record EnvoyExtAuthzHttp(String service, Integer port, String timeout, String pathPrefix,
                                    Boolean failOpen, String statusOnError,
                                    List<String> includeRequestHeadersInCheck,
                                    Map<String, String> includeAdditionalHeadersInCheck,
                                    List<String> includeHeadersInCheck,
                                    RequestBody includeRequestBodyInCheck,
                                    List<String> headersToUpstreamOnAllow,
                                    List<String> headersToDownstreamOnDeny,
                                    List<String> headersToDownstreamOnAllow) {
        public EnvoyExtAuthzHttp {
            includeRequestHeadersInCheck = includeRequestHeadersInCheck == null ? List.of()
                    : List.copyOf(includeRequestHeadersInCheck);
            includeHeadersInCheck = includeHeadersInCheck == null ? List.of() : List.copyOf(includeHeadersInCheck);
            includeAdditionalHeadersInCheck = includeAdditionalHeadersInCheck == null ? Map.of()
                    : java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(includeAdditionalHeadersInCheck));
            headersToUpstreamOnAllow = headersToUpstreamOnAllow == null ? List.of() : List.copyOf(headersToUpstreamOnAllow);
            headersToDownstreamOnDeny = headersToDownstreamOnDeny == null ? List.of()
                    : List.copyOf(headersToDownstreamOnDeny);
            headersToDownstreamOnAllow = headersToDownstreamOnAllow == null ? List.of()
                    : List.copyOf(headersToDownstreamOnAllow);
        }
    }

    /** {@code envoyExtAuthzGrpc}: Envoy's ext_authz filter calling a gRPC authorization service. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record EnvoyExtAuthzGrpc(String service, Integer port, String timeout, Boolean failOpen,
                                    String statusOnError, RequestBody includeRequestBodyInCheck) {}

    /** {@code includeRequestBodyInCheck}: buffer the body and send it to the authorization service. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record RequestBody(Integer maxRequestBytes, Boolean allowPartialMessage, Boolean packAsBytes) {}
}
