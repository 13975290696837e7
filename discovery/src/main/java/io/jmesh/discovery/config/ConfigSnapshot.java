package io.jmesh.discovery.config;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * All valid Istio objects at one moment, the rejected ones with their reasons, the mesh config, and the
 * warnings (objects of kinds jmesh does not implement, which are not applied, and warnings about applied objects).
 * Immutable; a new snapshot replaces the old one whole.
 */
public record ConfigSnapshot(List<Config<?>> configs, List<ConfigError> errors, MeshConfig meshConfig,
                             List<ConfigWarning> warnings) {

    /** An empty snapshot with the default mesh config. */
    public static final ConfigSnapshot EMPTY = new ConfigSnapshot(List.of(), List.of(), MeshConfig.DEFAULT);

    public ConfigSnapshot {
        List<Config<?>> sorted = new ArrayList<>(configs);
        sorted.sort(Comparator.comparing(c -> c.meta().key()));
        configs = List.copyOf(sorted);
        errors = List.copyOf(errors);
        meshConfig = meshConfig == null ? MeshConfig.DEFAULT : meshConfig;
        warnings = warnings == null ? List.of() : List.copyOf(warnings);
    }

    /** A snapshot without warnings. */
    public ConfigSnapshot(List<Config<?>> configs, List<ConfigError> errors, MeshConfig meshConfig) {
        this(configs, errors, meshConfig, List.of());
    }

    /** Returns the objects of {@code kind} with their typed spec, sorted by {@code Kind/namespace/name}. */
    @SuppressWarnings("unchecked")
    public <S> List<Config<S>> of(ConfigKind kind) {
        List<Config<S>> out = new ArrayList<>();
        for (Config<?> c : configs) {
            if (c.meta().kind() == kind) {
                out.add((Config<S>) c);
            }
        }
        return out;
    }
}
