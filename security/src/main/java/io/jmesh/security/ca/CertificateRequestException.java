package io.jmesh.security.ca;

/**
 * A certificate request the CA refuses; {@link #reason()} says which gRPC status the CA service answers with.
 */
public final class CertificateRequestException extends Exception {

    private static final long serialVersionUID = 1L;

    /** Why the request was refused. */
    public enum Reason {
        /** The CSR does not parse, its signature does not verify, or its key is too weak (INVALID_ARGUMENT). */
        INVALID_CSR,
        /** The requested TTL exceeds the CA's maximum (INVALID_ARGUMENT, as Istio's {@code TTLError}). */
        TTL,
        /** The CSR asks for another identity than the caller's (PERMISSION_DENIED). */
        IDENTITY_MISMATCH,
        /** The CA could not sign (INTERNAL). */
        SIGNING
    }

    private final Reason reason;

    public CertificateRequestException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public CertificateRequestException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    /** Why the request was refused. */
    public Reason reason() {
        return reason;
    }
}
