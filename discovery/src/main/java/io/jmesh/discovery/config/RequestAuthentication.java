package io.jmesh.discovery.config;

import java.util.List;

/**
 * The spec of Istio's {@code RequestAuthentication} (security.istio.io): which workloads (by {@code selector}, or a
 * gateway by {@code targetRef}/{@code targetRefs}) verify JWTs, and the rules for each issuer. A request with an
 * invalid token is rejected; a request without one passes (AuthorizationPolicy decides about it).
 *
 * @see <a href="https://istio.io/latest/docs/reference/config/security/request_authentication/">RequestAuthentication</a>
 */
public record RequestAuthentication(WorkloadSelector selector, PolicyTargetReference targetRef,
                                    List<PolicyTargetReference> targetRefs, List<JWTRule> jwtRules) {

    public RequestAuthentication {
        targetRefs = targetRefs == null ? List.of() : List.copyOf(targetRefs);
        jwtRules = jwtRules == null ? List.of() : List.copyOf(jwtRules);
    }

    /** Returns whether the policy selects workloads by labels (a non-empty {@code matchLabels}). */
    public boolean hasSelector() {
        return selector != null && !selector.matchLabels().isEmpty();
    }

    /** Istio's {@code type.v1beta1.WorkloadSelector}: the labels a workload must have. */
    public record WorkloadSelector(java.util.Map<String, String> matchLabels) {
        public WorkloadSelector {
            matchLabels = matchLabels == null ? java.util.Map.of() : java.util.Map.copyOf(matchLabels);
        }
    }

    /** A reference to the resource a policy applies to (Istio's {@code PolicyTargetReference}). */
    public record PolicyTargetReference(String group, String kind, String name, String namespace) {}

    /** One issuer: where its keys are, where tokens are read from, and what is passed on. */
    public record JWTRule(String issuer, List<String> audiences, String jwksUri, String jwks,
                          List<JWTHeader> fromHeaders, List<String> fromParams, List<String> fromCookies,
                          String outputPayloadToHeader, List<ClaimToHeader> outputClaimToHeaders,
                          Boolean forwardOriginalToken, String timeout) {
        public JWTRule {
            audiences = audiences == null ? List.of() : List.copyOf(audiences);
            fromHeaders = fromHeaders == null ? List.of() : List.copyOf(fromHeaders);
            fromParams = fromParams == null ? List.of() : List.copyOf(fromParams);
            fromCookies = fromCookies == null ? List.of() : List.copyOf(fromCookies);
            outputClaimToHeaders = outputClaimToHeaders == null ? List.of() : List.copyOf(outputClaimToHeaders);
        }
    }

    /** A header to read the token from, and the prefix before it (e.g. {@code "Bearer "}). */
    public record JWTHeader(String name, String prefix) {}

    /** Copy a claim into a request header. */
    public record ClaimToHeader(String header, String claim) {}
}
