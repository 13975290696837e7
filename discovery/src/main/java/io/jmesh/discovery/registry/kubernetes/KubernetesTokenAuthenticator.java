package io.jmesh.discovery.registry.kubernetes;

import java.util.List;

import javax.net.ssl.SSLSession;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.grpc.Metadata;
import io.jmesh.security.ca.server.Authenticator;
import io.jmesh.security.ca.server.TokenAuthenticator;
import io.jmesh.security.spiffe.SpiffeId;

/**
 * Authenticates a CA caller by its Kubernetes service-account token ({@code authorization: Bearer <jwt>}), as
 * istiod's {@code KubeJWTAuthenticator}: the token is sent to the API server in a TokenReview
 * ({@code authentication.k8s.io/v1}) with the audience {@code istio-ca}; when the API server says it is
 * authenticated for that audience, the caller is the token's {@code system:serviceaccount:<namespace>:<name>}, i.e.
 * {@code spiffe://<trust domain>/ns/<namespace>/sa/<name>}, and may only get a certificate for that identity.
 * A call without a bearer token is not this authenticator's (null), so that client certificates keep working.
 * Blocks the calling gRPC thread for the review (never an event loop). Thread-safe.
 */
public final class KubernetesTokenAuthenticator implements Authenticator {

    private static final Logger logger = LoggerFactory.getLogger(KubernetesTokenAuthenticator.class);

    /** The audience istiod asks for (its default {@code TOKEN_AUDIENCES}). */
    public static final String AUDIENCE = "istio-ca";

    private static final String PREFIX = "system:serviceaccount:";

    private final KubernetesClient client;
    private final String trustDomain;
    private final List<String> audiences;

    /** Reviews tokens through {@code client} for the audience {@value #AUDIENCE}. */
    public KubernetesTokenAuthenticator(KubernetesClient client, String trustDomain) {
        this.client = client;
        this.trustDomain = trustDomain;
        this.audiences = List.of(AUDIENCE);
    }

    @Override
    public SpiffeId authenticate(Metadata headers, SSLSession session) throws AuthenticationException {
        String token = TokenAuthenticator.bearerToken(headers);
        if (token == null) {
            return null;
        }
        TokenReview review = new TokenReviewBuilder().withNewSpec().withToken(token).withAudiences(audiences)
                .endSpec().build();
        TokenReview result;
        try {
            result = client.resource(review).create();
        } catch (KubernetesClientException e) {
            logger.warn("TokenReview failed: {}", e.getMessage());
            throw new AuthenticationException("TokenReview: " + e.getMessage()
                    + " (expected: discovery may create tokenreviews.authentication.k8s.io)");
        }
        var status = result == null ? null : result.getStatus();
        if (status == null) {
            throw new AuthenticationException("TokenReview: no status in the API server's answer");
        }
        if (status.getError() != null && !status.getError().isEmpty()) {
            throw new AuthenticationException("TokenReview: " + status.getError());
        }
        if (!Boolean.TRUE.equals(status.getAuthenticated())) {
            throw new AuthenticationException("TokenReview: the token is not authenticated");
        }
        List<String> granted = status.getAudiences();
        if (granted != null && !granted.isEmpty() && granted.stream().noneMatch(audiences::contains)) {
            throw new AuthenticationException("TokenReview: audiences " + granted + " (expected: " + AUDIENCE + ")");
        }
        String user = status.getUser() == null ? null : status.getUser().getUsername();
        String[] parts = user == null ? new String[0] : user.split(":", -1);
        if (user == null || !user.startsWith(PREFIX) || parts.length != 4 || parts[2].isEmpty()
                || parts[3].isEmpty()) {
            throw new AuthenticationException("TokenReview: user " + user
                    + " (expected: system:serviceaccount:<namespace>:<name>)");
        }
        try {
            return new SpiffeId(trustDomain, parts[2], parts[3]);
        } catch (IllegalArgumentException e) {
            throw new AuthenticationException("TokenReview: user " + user + ": " + e.getMessage());
        }
    }

    @Override
    public String name() {
        return "KubeJWTAuthenticator";
    }
}
