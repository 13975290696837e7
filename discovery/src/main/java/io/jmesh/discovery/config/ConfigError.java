package io.jmesh.discovery.config;

/**
 * An object that was rejected, with what a user needs to find and fix it: file and line, the
 * object's {@code Kind/namespace/name} (as far as it could be read) and the reason in the form
 * {@code field.path: value (expected: ...)}.
 */
public record ConfigError(ConfigSource source, String kind, String namespace, String name, String reason) {

    /** Returns {@code Kind/namespace/name}, with {@code ?} for parts that could not be read. */
    public String key() {
        return key(kind, namespace, name);
    }

    /** {@code Kind/namespace/name}, {@code ?} for a part null or empty (also for {@link ConfigWarning}). */
    static String key(String kind, String namespace, String name) {
        return orUnknown(kind) + '/' + orUnknown(namespace) + '/' + orUnknown(name);
    }

    @Override
    public String toString() {
        return source + ": " + key() + ": " + reason;
    }

    private static String orUnknown(String s) {
        return s == null || s.isEmpty() ? "?" : s;
    }
}
