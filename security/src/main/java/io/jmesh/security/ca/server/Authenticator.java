package io.jmesh.security.ca.server;

import javax.net.ssl.SSLSession;

import io.grpc.Metadata;
import io.jmesh.security.spiffe.SpiffeId;

/**
 * Finds out who calls the CA, as Istio's {@code security.Authenticator}. Implementations must be thread-safe.
 */
public interface Authenticator {

    /**
     * Authenticates a call.
     *
     * @param headers the call's metadata
     * @param session the TLS session of the connection, or null on plaintext
     * @return the caller's identity, or null when this authenticator finds no credential of its kind in the call
     * @throws AuthenticationException when a credential of its kind is there but invalid (unknown token, ...)
     */
    SpiffeId authenticate(Metadata headers, SSLSession session) throws AuthenticationException;

    /** The name shown in errors, e.g. {@code ClientCertAuthenticator}. */
    String name();

    /** A credential was presented but is not valid. */
    final class AuthenticationException extends Exception {
        private static final long serialVersionUID = 1L;

        public AuthenticationException(String message) {
            super(message);
        }
    }
}
