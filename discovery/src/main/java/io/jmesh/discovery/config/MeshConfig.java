package io.jmesh.discovery.config;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.Map;

/**
 * The subset of Istio's MeshConfig that discovery uses. Unknown fields are ignored (a mesh config
 * file carries many settings meant for other components).
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record MeshConfig(String trustDomain, Sidecar.OutboundTrafficPolicy outboundTrafficPolicy,
                         String accessLogFile, Map<String, Object> defaultConfig, String rootNamespace,
                         Boolean enableAutoMtls, String accessLogFormat) {

    /**
     * Istio's defaults: trust domain {@code cluster.local}, ALLOW_ANY, no access log, root namespace
     * {@code istio-system} (where PeerAuthentication without a selector is mesh-wide), auto mTLS on.
     */
    public static final MeshConfig DEFAULT =
            new MeshConfig("cluster.local", new Sidecar.OutboundTrafficPolicy("ALLOW_ANY", null), "", Map.of());

    /** A mesh config with Istio's default root namespace and auto mTLS. */
    public MeshConfig(String trustDomain, Sidecar.OutboundTrafficPolicy outboundTrafficPolicy, String accessLogFile,
                      Map<String, Object> defaultConfig) {
        this(trustDomain, outboundTrafficPolicy, accessLogFile, defaultConfig, null, null, null);
    }

    /** A mesh config with Istio's default access log format. */
    public MeshConfig(String trustDomain, Sidecar.OutboundTrafficPolicy outboundTrafficPolicy, String accessLogFile,
                      Map<String, Object> defaultConfig, String rootNamespace, Boolean enableAutoMtls) {
        this(trustDomain, outboundTrafficPolicy, accessLogFile, defaultConfig, rootNamespace, enableAutoMtls, null);
    }

    public MeshConfig {
        rootNamespace = rootNamespace == null || rootNamespace.isEmpty() ? "istio-system" : rootNamespace;
        enableAutoMtls = enableAutoMtls == null ? Boolean.TRUE : enableAutoMtls;
        accessLogFormat = accessLogFormat == null ? "" : accessLogFormat;
        trustDomain = trustDomain == null ? "cluster.local" : trustDomain;
        outboundTrafficPolicy = outboundTrafficPolicy == null
                ? new Sidecar.OutboundTrafficPolicy("ALLOW_ANY", null) : outboundTrafficPolicy;
        accessLogFile = accessLogFile == null ? "" : accessLogFile;
        defaultConfig = defaultConfig == null ? Map.of() : Map.copyOf(defaultConfig);
    }

    /** Returns whether client sidecars pick mTLS by themselves toward sidecar endpoints (Istio's auto mTLS). */
    public boolean autoMtls() {
        return enableAutoMtls;
    }

    /** Returns whether traffic to hosts outside the registry is refused. */
    public boolean registryOnly() {
        return "REGISTRY_ONLY".equals(outboundTrafficPolicy.mode());
    }
}
