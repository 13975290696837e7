package io.jmesh.cli.manifest;

/** A chart, a values file or a {@code --set} that cannot be used; the message names the file or flag and line. */
public final class ChartException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public ChartException(String message) {
        super(message);
    }

    public ChartException(String message, Throwable cause) {
        super(message, cause);
    }
}
