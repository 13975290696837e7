package io.jmesh.discovery.config;

/**
 * A problem with an object that did not reject it, as istiod's validation returns warnings next to errors: either
 * the object is applied and the warning says what to look at ({@code applied} true, e.g. a partial wildcard host),
 * or it is a kind of an {@code *.istio.io} group that jmesh does not implement and it is <em>not applied</em>
 * ({@code applied} false). The message has the form {@code field.path: value (what is wrong)}.
 */
public record ConfigWarning(ConfigSource source, String kind, String namespace, String name, String message,
                            boolean applied) {

    /** Returns {@code Kind/namespace/name}, with {@code ?} for parts that could not be read. */
    public String key() {
        return ConfigError.key(kind, namespace, name);
    }

    @Override
    public String toString() {
        return source + ": " + key() + ": " + message + (applied ? "" : " [not applied]");
    }
}
