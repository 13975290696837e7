package io.jmesh.security.ca.server;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import javax.net.ssl.SSLSession;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.grpc.BindableService;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.jmesh.api.ca.v1.IstioCertificateRequest;
import io.jmesh.api.ca.v1.IstioCertificateResponse;
import io.jmesh.api.ca.v1.IstioCertificateServiceGrpc;
import io.jmesh.security.ca.CertificateAuthority;
import io.jmesh.security.ca.CertificateRequestException;
import io.jmesh.security.spiffe.SpiffeId;

/**
 * {@code istio.v1.auth.IstioCertificateService/CreateCertificate}, as istiod serves it on 15012: authenticates
 * the caller, then has the {@link CertificateAuthority} sign the CSR for the caller's identity.
 *
 * <p>Answers: {@code UNAUTHENTICATED} when no authenticator recognises the caller (with each authenticator's
 * reason); {@code PERMISSION_DENIED} when the CSR asks for another identity than the caller's, or for
 * impersonation ({@code metadata.ImpersonatedIdentity}, which needs Istio's node authorizer, not supported);
 * {@code INVALID_ARGUMENT} for a bad CSR or a TTL above the maximum; {@code INTERNAL} when signing fails.
 * Each message names the field at fault.
 *
 * <p>{@link #bindService()} installs an interceptor that hands the call's metadata and TLS session to the
 * authenticators, so the service is added to a server as it is. Thread-safe.
 */
public final class IstioCertificateService implements IstioCertificateServiceGrpc.AsyncService, BindableService {

    private static final Logger logger = LoggerFactory.getLogger(IstioCertificateService.class);

    /** Istio's metadata key for signing on behalf of another identity. */
    public static final String IMPERSONATED_IDENTITY = "ImpersonatedIdentity";

    private static final Context.Key<Metadata> HEADERS = Context.key("jmesh-ca-headers");
    private static final Context.Key<SSLSession> SESSION = Context.key("jmesh-ca-ssl-session");

    private final CertificateAuthority ca;
    private final List<Authenticator> authenticators;

    /**
     * @param authenticators tried in order; the first to recognise the caller decides its identity
     */
    public IstioCertificateService(CertificateAuthority ca, List<Authenticator> authenticators) {
        this.ca = ca;
        this.authenticators = List.copyOf(authenticators);
    }

    @Override
    public ServerServiceDefinition bindService() {
        return ServerInterceptors.intercept(IstioCertificateServiceGrpc.bindService(this), new ServerInterceptor() {
            @Override
            public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
                                                               ServerCallHandler<Q, A> next) {
                Context ctx = Context.current().withValue(HEADERS, headers)
                        .withValue(SESSION, call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
                return Contexts.interceptCall(ctx, call, headers, next);
            }
        });
    }

    @Override
    public void createCertificate(IstioCertificateRequest request,
                                  StreamObserver<IstioCertificateResponse> responses) {
        SpiffeId caller;
        try {
            caller = authenticate(HEADERS.get(), SESSION.get());
        } catch (StatusException e) {
            logger.warn("CreateCertificate refused: {}", e.status.getDescription());
            responses.onError(e.status.asRuntimeException());
            return;
        }
        if (request.hasMetadata() && request.getMetadata().containsFields(IMPERSONATED_IDENTITY)) {
            String msg = "metadata." + IMPERSONATED_IDENTITY + ": not supported (expected: a caller asks for its own"
                    + " identity)";
            logger.warn("CreateCertificate from {} refused: {}", caller, msg);
            responses.onError(Status.PERMISSION_DENIED.withDescription(msg).asRuntimeException());
            return;
        }
        try {
            List<String> chain = ca.sign(request.getCsr(), caller, Duration.ofSeconds(request.getValidityDuration()));
            responses.onNext(IstioCertificateResponse.newBuilder().addAllCertChain(chain).build());
            responses.onCompleted();
            logger.info("issued a certificate to {}", caller);
        } catch (CertificateRequestException e) {
            Status status = switch (e.reason()) {
                case INVALID_CSR, TTL -> Status.INVALID_ARGUMENT;
                case IDENTITY_MISMATCH -> Status.PERMISSION_DENIED;
                case SIGNING -> Status.INTERNAL;
            };
            logger.warn("CreateCertificate from {} refused: {}", caller, e.getMessage());
            responses.onError(status.withDescription(e.getMessage()).asRuntimeException());
        }
    }

    private SpiffeId authenticate(Metadata headers, SSLSession session) throws StatusException {
        List<String> reasons = new ArrayList<>();
        for (Authenticator a : authenticators) {
            try {
                SpiffeId id = a.authenticate(headers == null ? new Metadata() : headers, session);
                if (id != null) {
                    return id;
                }
            } catch (Authenticator.AuthenticationException e) {
                reasons.add(a.name() + ": " + e.getMessage());
            }
        }
        String why = reasons.isEmpty()
                ? "no credential (expected: authorization: Bearer <token>, or a client certificate from this CA)"
                : String.join("; ", reasons);
        throw new StatusException(Status.UNAUTHENTICATED.withDescription("request authenticate failure: " + why));
    }

    private static final class StatusException extends Exception {
        private static final long serialVersionUID = 1L;
        final transient Status status;

        StatusException(Status status) {
            super(status.getDescription(), null, false, false);
            this.status = status;
        }
    }
}
