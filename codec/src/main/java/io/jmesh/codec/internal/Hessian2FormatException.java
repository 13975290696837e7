package io.jmesh.codec.internal;

/** A Hessian 2.0 value is malformed or does not fit in the bytes given to {@link Hessian2Reader}. */
public final class Hessian2FormatException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Creates an exception with the given reason. */
    public Hessian2FormatException(String message) {
        super(message, null, false, false);
    }
}
