package io.jmesh.proxy.config;

/**
 * A configuration that cannot be applied: a bad bootstrap file, an invalid xDS resource, an
 * unsupported extension. The message names the field path and the offending value, in the form
 * {@code field.path: value (expected: ...)}, so that it can be shown to a user or sent in a NACK.
 */
public class ConfigException extends Exception {

    private static final long serialVersionUID = 1L;

    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }

    /** Returns a new exception whose message is prefixed by {@code path}, as in {@code path.inner: reason}. */
    public ConfigException under(String path) {
        return new ConfigException(path + (getMessage().startsWith("[") ? "" : ".") + getMessage(), getCause());
    }
}
