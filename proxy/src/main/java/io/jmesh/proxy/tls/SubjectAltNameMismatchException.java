package io.jmesh.proxy.tls;

import java.security.cert.CertificateException;

/** The peer's certificate verified, but none of its subject alt names matched ({@code ssl.fail_verify_san}). */
final class SubjectAltNameMismatchException extends CertificateException {
    private static final long serialVersionUID = 1L;

    SubjectAltNameMismatchException(String message) {
        super(message);
    }
}
