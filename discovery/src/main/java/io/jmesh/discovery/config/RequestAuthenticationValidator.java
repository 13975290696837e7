package io.jmesh.discovery.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import io.jmesh.proxy.config.ConfigException;

/**
 * istiod's checks of a {@code RequestAuthentication} ({@code validateRequestAuthentication} and
 * {@code validateJwtRule}), with jmesh's {@code field.path: value (expected: ...)} messages: one of
 * {@code selector} / {@code targetRef} / {@code targetRefs}; each rule has an issuer, non-empty audiences, an
 * http(s) {@code jwksUri} with a host, an inline {@code jwks} that parses as a JWKS, named header, parameter and
 * cookie locations, and valid output header names.
 */
final class RequestAuthenticationValidator {

    /** The kinds a RequestAuthentication may target, as istiod accepts them (group/kind). */
    private static final Set<String> TARGET_KINDS = Set.of("gateway.networking.k8s.io/Gateway", "/Service",
            "networking.istio.io/ServiceEntry", "gateway.networking.k8s.io/GatewayClass");

    private RequestAuthenticationValidator() {}

    static void validate(RequestAuthentication ra) throws ConfigException {
        ValidationErrors errs = new ValidationErrors();
        int selectors = (ra.selector() != null ? 1 : 0) + (ra.targetRef() != null ? 1 : 0)
                        + (ra.targetRefs().isEmpty() ? 0 : 1);
        if (selectors > 1) {
            errs.add("spec: selector, targetRef and targetRefs all set (expected: only one of them)");
        }
        if (ra.selector() != null) {
            errs.check(() -> ConfigValidator.validateLabels(ra.selector().matchLabels(), "spec.selector.matchLabels"));
        }
        if (ra.targetRef() != null) {
            errs.check(() -> validateTargetRef(ra.targetRef(), "spec.targetRef"));
        }
        for (int i = 0; i < ra.targetRefs().size(); i++) {
            int n = i;
            errs.check(() -> validateTargetRef(ra.targetRefs().get(n), "spec.targetRefs[" + n + "]"));
        }
        for (int i = 0; i < ra.jwtRules().size(); i++) {
            int n = i;
            errs.check(() -> validateRule(ra.jwtRules().get(n), "spec.jwtRules[" + n + "]"));
        }
        errs.throwIfAny();
    }

    private static void validateTargetRef(RequestAuthentication.PolicyTargetReference ref, String path)
            throws ConfigException {
        targetRef(ref.group(), ref.kind(), ref.name(), ref.namespace(), path);
    }

    /**
     * istiod's {@code validatePolicyTargetReference}, shared by the policies that take a {@code targetRef}: a
     * kind istiod allows, a name, no namespace; every problem is reported.
     */
    static void targetRef(String group, String kind, String name, String namespace, String path)
            throws ConfigException {
        ValidationErrors errs = new ValidationErrors();
        String g = group == null ? "" : group;
        if (!TARGET_KINDS.contains(g + "/" + kind)) {
            errs.add(path + ": " + g + "/" + kind + " (expected: one of "
                    + new java.util.TreeSet<>(TARGET_KINDS) + ")");
        }
        if (name == null || name.isEmpty()) {
            errs.add(path + ".name: \"\" (expected: the target's name)");
        }
        if (namespace != null && !namespace.isEmpty()) {
            errs.add(path + ".namespace: " + namespace
                    + " (expected: unset; a policy targets resources of its own namespace)");
        }
        errs.throwIfAny();
    }

    private static void validateRule(RequestAuthentication.JWTRule r, String path) throws ConfigException {
        if (r == null) {
            throw new ConfigException(path + ": null (expected: a JWT rule)");
        }
        ValidationErrors errs = new ValidationErrors();
        if (r.issuer() == null || r.issuer().isEmpty()) {
            errs.add(path + ".issuer: \"\" (expected: the issuer, set)");
        }
        for (int i = 0; i < r.audiences().size(); i++) {
            if (r.audiences().get(i) == null || r.audiences().get(i).isEmpty()) {
                errs.add(path + ".audiences[" + i + "]: \"\" (expected: a non-empty audience)");
            }
        }
        if (r.jwksUri() != null && !r.jwksUri().isEmpty()) {
            errs.check(() -> parseJwksUri(r.jwksUri(), path + ".jwksUri"));
        }
        if (r.jwks() != null && !r.jwks().isEmpty()) {
            errs.check(() -> {
                try {
                    if (com.nimbusds.jose.jwk.JWKSet.parse(r.jwks()).getKeys().isEmpty()) {
                        throw new java.text.ParseException("no keys", 0);
                    }
                } catch (java.text.ParseException e) {
                    String shown = r.jwks().length() > 40 ? r.jwks().substring(0, 40) + "..." : r.jwks();
                    throw new ConfigException(path + ".jwks: " + shown.replace('\n', ' ')
                            + " (expected: a JSON Web Key Set: " + e.getMessage() + ")");
                }
            });
        }
        for (int i = 0; i < r.fromHeaders().size(); i++) {
            int n = i;
            errs.check(() -> {
                RequestAuthentication.JWTHeader h = r.fromHeaders().get(n);
                if (h == null || h.name() == null || h.name().isEmpty()) {
                    throw new ConfigException(path + ".fromHeaders[" + n + "].name: \"\" (expected: a header name)");
                }
                validateHeaderName(h.name(), path + ".fromHeaders[" + n + "].name");
            });
        }
        errs.check(() -> validateNames(r.fromParams(), path + ".fromParams", "a query parameter name"));
        errs.check(() -> validateNames(r.fromCookies(), path + ".fromCookies", "a cookie name"));
        if (r.outputPayloadToHeader() != null && !r.outputPayloadToHeader().isEmpty()) {
            errs.check(() -> validateHeaderName(r.outputPayloadToHeader(), path + ".outputPayloadToHeader"));
        }
        for (int i = 0; i < r.outputClaimToHeaders().size(); i++) {
            int n = i;
            errs.check(() -> {
                RequestAuthentication.ClaimToHeader c = r.outputClaimToHeaders().get(n);
                String p = path + ".outputClaimToHeaders[" + n + "]";
                if (c == null || c.header() == null || c.header().isEmpty()) {
                    throw new ConfigException(p + ".header: \"\" (expected: a header name)");
                }
                if (c.claim() == null || c.claim().isEmpty()) {
                    throw new ConfigException(p + ".claim: \"\" (expected: a claim name)");
                }
                validateHeaderName(c.header(), p + ".header");
            });
        }
        if (r.timeout() != null) {
            errs.check(() -> ConfigValidator.parseDuration(r.timeout(), path + ".timeout", Duration.ofMillis(1)));
        }
        errs.throwIfAny();
    }

    /** istiod's {@code ParseJwksURI}: an http or https URL with a host; the port defaults by scheme. */
    static URI parseJwksUri(String uri, String path) throws ConfigException {
        URI u;
        try {
            u = new URI(uri);
        } catch (URISyntaxException e) {
            throw new ConfigException(path + ": " + uri + " (expected: an http or https URL)");
        }
        if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme())) {
            throw new ConfigException(path + ": " + uri + " (expected: an http or https URL)");
        }
        if (u.getHost() == null || u.getHost().isEmpty()) {
            throw new ConfigException(path + ": " + uri + " (expected: an http or https URL with a host)");
        }
        return u;
    }

    private static void validateNames(List<String> names, String path, String what) throws ConfigException {
        for (int i = 0; i < names.size(); i++) {
            if (names.get(i) == null || names.get(i).isEmpty()) {
                throw new ConfigException(path + "[" + i + "]: \"\" (expected: " + what + ")");
            }
        }
    }

    /** An HTTP header name (RFC 9110 token), not a pseudo-header. */
    private static void validateHeaderName(String name, String path) throws ConfigException {
        if (!name.chars().allMatch(c -> c > 0x20 && c < 0x7f && "()<>@,;:\\\"/[]?={}".indexOf(c) < 0)) {
            throw new ConfigException(path + ": " + name + " (expected: an HTTP header name)");
        }
    }
}
