package io.jmesh.discovery.config;

import java.util.Map;
import java.util.Objects;

/**
 * The Kubernetes metadata of an Istio object that discovery uses, and where it came from.
 * {@code namespace} is never null ({@code default} when the YAML has none); maps are immutable.
 * {@code creationTimestamp} is null when the YAML has none (files usually do not; Kubernetes sets it).
 */
public record ConfigMeta(ConfigKind kind, String apiVersion, String name, String namespace,
                         Map<String, String> labels, Map<String, String> annotations, ConfigSource source,
                         java.time.Instant creationTimestamp) {

    /** Metadata without a creation time. */
    public ConfigMeta(ConfigKind kind, String apiVersion, String name, String namespace, Map<String, String> labels,
                      Map<String, String> annotations, ConfigSource source) {
        this(kind, apiVersion, name, namespace, labels, annotations, source, null);
    }

    public ConfigMeta {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(namespace, "namespace");
        labels = labels == null ? Map.of() : Map.copyOf(labels);
        annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
    }

    /** Returns {@code Kind/namespace/name}, as istioctl names objects. */
    public String key() {
        return kind.kindName() + '/' + namespace + '/' + name;
    }
}
