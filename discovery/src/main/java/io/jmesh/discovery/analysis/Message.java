package io.jmesh.discovery.analysis;

import io.jmesh.discovery.config.ConfigSource;
import java.util.Objects;

/**
 * One finding of an analyzer: its type, the object it is about and its text.
 *
 * @param type     Istio's message type (code and level)
 * @param kind     the object's kind, e.g. {@code VirtualService}; null when the object could not be read
 * @param namespace the object's namespace; null when unknown
 * @param name     the object's name; null when unknown
 * @param source   file and line of the object; null when unknown
 * @param text     the filled-in template
 */
public record Message(MessageType type, String kind, String namespace, String name, ConfigSource source,
                      String text) {

    public Message {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(text, "text");
    }

    /** Istio's origin of the message: {@code Kind namespace/name}; empty when the object is unknown. */
    public String origin() {
        if (kind == null && name == null) {
            return "";
        }
        return (kind == null ? "?" : kind) + ' ' + (namespace == null ? "?" : namespace) + '/'
                + (name == null ? "?" : name);
    }

    /** {@code file:line}, or empty when the source is unknown. */
    public String reference() {
        return source == null || source.file() == null ? "" : source.file() + ":" + source.line();
    }

    /**
     * The line istioctl prints: {@code Error [IST0101] (VirtualService default/reviews file.yaml:3) Referenced host
     * not found: "reviews2"}.
     */
    @Override
    public String toString() {
        String origin = origin();
        String ref = reference();
        String where = origin.isEmpty() ? ref : ref.isEmpty() ? origin : origin + ' ' + ref;
        return type.level().displayName() + " [" + type.code() + "]" + (where.isEmpty() ? "" : " (" + where + ")")
                + ' ' + text;
    }
}
