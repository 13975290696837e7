package io.jmesh.discovery.model;

import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.ConfigSnapshot;
import io.jmesh.discovery.config.RequestAuthentication;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The JSON Web Key Sets discovery fetched itself for RequestAuthentication rules (istiod's {@code JwksResolver}),
 * and the mode that says which rules discovery resolves: a rule with neither {@code jwks} nor {@code jwksUri}
 * always (OpenID discovery of the issuer's {@code jwks_uri}); a rule with a {@code jwksUri} per
 * {@link FetchMode}. Keys absent from {@link #keys()} could not be fetched (yet). Immutable.
 *
 * @param mode  Istio's {@code PILOT_JWT_ENABLE_REMOTE_JWKS}
 * @param keys  the fetched JWKS documents by rule key
 */
public record ResolvedJwks(FetchMode mode, Map<Key, String> keys) {

    /** Nothing fetched, jmesh's default mode. */
    public static final ResolvedJwks NONE = new ResolvedJwks(FetchMode.ENVOY, Map.of());

    public ResolvedJwks {
        keys = Map.copyOf(keys);
    }

    /** Who fetches the keys of a rule with a {@code jwksUri} (Istio's {@code PILOT_JWT_ENABLE_REMOTE_JWKS}). */
    public enum FetchMode {
        /** {@code istiod}, {@code false}: discovery fetches and inlines them ({@code local_jwks}). */
        ISTIOD,
        /** {@code hybrid}, {@code true}: the proxy when the URI is a mesh service's, else discovery. */
        HYBRID,
        /** {@code envoy}: the proxy ({@code remote_jwks}); jmesh's default. */
        ENVOY;

        /**
         * Parses Istio's value; null or empty is jmesh's default {@link #ENVOY}.
         *
         * @throws IllegalArgumentException naming the variable and the values it takes
         */
        public static FetchMode parse(String value) {
            if (value == null || value.isBlank()) {
                return ENVOY;
            }
            switch (value.trim().toLowerCase(Locale.ROOT)) {
                case "istiod":
                case "false":
                    return ISTIOD;
                case "hybrid":
                case "true":
                    return HYBRID;
                case "envoy":
                    return ENVOY;
                default:
                    throw new IllegalArgumentException("PILOT_JWT_ENABLE_REMOTE_JWKS: " + value
                            + " (expected: one of istiod, false, hybrid, true, envoy)");
            }
        }
    }

    /**
     * A rule's keys: its issuer and its {@code jwksUri} ({@code ""}: found by OpenID discovery,
     * {@code <issuer>/.well-known/openid-configuration}).
     */
    public record Key(String issuer, String jwksUri) {}

    /** The fetched JWKS of {@code key}, or null. */
    public String get(Key key) {
        return keys.get(key);
    }

    /** Returns whether discovery resolves the keys of {@code rule} (no inline {@code jwks}) in this mode. */
    public static boolean resolvedByDiscovery(RequestAuthentication.JWTRule rule, FetchMode mode, boolean meshUri) {
        if (rule.jwks() != null && !rule.jwks().isEmpty()) {
            return false;
        }
        if (rule.jwksUri() == null || rule.jwksUri().isEmpty()) {
            return true;
        }
        return mode == FetchMode.ISTIOD || (mode == FetchMode.HYBRID && !meshUri);
    }

    /**
     * The rule keys discovery must fetch for {@code config} in {@code mode}, each with where it comes from
     * ({@code RequestAuthentication/<ns>/<name>: spec.jwtRules[i]}) for log lines; {@code services} tell which
     * {@code jwksUri}s are mesh services'.
     */
    public static Map<Key, String> wanted(ConfigSnapshot config, List<Service> services, FetchMode mode) {
        Map<Key, String> out = new LinkedHashMap<>();
        for (Config<RequestAuthentication> c : config.<RequestAuthentication>of(ConfigKind.REQUEST_AUTHENTICATION)) {
            List<RequestAuthentication.JWTRule> rules = c.spec().jwtRules();
            for (int i = 0; i < rules.size(); i++) {
                RequestAuthentication.JWTRule r = rules.get(i);
                if (r.issuer() == null || r.issuer().isEmpty()
                        || !resolvedByDiscovery(r, mode, isMeshUri(r.jwksUri(), services))) {
                    continue;
                }
                out.putIfAbsent(new Key(r.issuer(), r.jwksUri() == null ? "" : r.jwksUri()),
                        "RequestAuthentication/" + c.meta().namespace() + "/" + c.meta().name() + ": spec.jwtRules["
                                + i + "]");
            }
        }
        return out;
    }

    /** Returns whether {@code jwksUri}'s host and port are a port of one of {@code services}. */
    public static boolean isMeshUri(String jwksUri, List<Service> services) {
        if (jwksUri == null || jwksUri.isEmpty()) {
            return false;
        }
        URI uri;
        try {
            uri = URI.create(jwksUri);
        } catch (IllegalArgumentException e) {
            return false;
        }
        if (uri.getHost() == null) {
            return false;
        }
        int port = uri.getPort() > 0 ? uri.getPort() : "https".equals(uri.getScheme()) ? 443 : 80;
        for (Service s : services) {
            if (s.hostname().equals(uri.getHost())) {
                for (ServicePort p : s.ports()) {
                    if (p.number() == port) {
                        return true;
                    }
                }
            }
        }
        return false;
    }
}
