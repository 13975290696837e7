package io.jmesh.security.ca;

/**
 * The CA's signing material is unusable: a file is missing, unreadable or inconsistent. The message names the
 * file and what was expected, e.g. {@code /etc/cacerts/ca-key.pem: does not match ca-cert.pem}.
 */
public final class CaConfigException extends Exception {

    private static final long serialVersionUID = 1L;

    public CaConfigException(String message) {
        super(message);
    }

    public CaConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
