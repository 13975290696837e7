package io.jmesh.discovery.config;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

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

    /**
     * Gathers the objects, rejections and warnings of several sources (files, a directory, stores) into one snapshot,
     * in the order added: an object with the {@code Kind/namespace/name} of one added before is rejected, naming where
     * the first came from. Not thread-safe; one per snapshot built.
     */
    public static final class Builder {
        private final List<Config<?>> configs = new ArrayList<>();
        private final List<ConfigError> errors = new ArrayList<>();
        private final List<ConfigWarning> warnings = new ArrayList<>();
        private final Map<String, ConfigSource> seen = new HashMap<>();

        /** Adds what one file or string gave. */
        public Builder add(ConfigParser.Result result) {
            return add(result.configs(), result.errors(), result.warnings());
        }

        /** Adds the objects, rejections and warnings of {@code snapshot} (not its mesh config). */
        public Builder add(ConfigSnapshot snapshot) {
            return add(snapshot.configs(), snapshot.errors(), snapshot.warnings());
        }

        private Builder add(List<Config<?>> more, List<ConfigError> moreErrors, List<ConfigWarning> moreWarnings) {
            for (Config<?> c : more) {
                ConfigSource first = seen.putIfAbsent(c.meta().key(), c.meta().source());
                if (first == null) {
                    configs.add(c);
                } else {
                    errors.add(new ConfigError(c.meta().source(), c.meta().kind().kindName(), c.meta().namespace(),
                            c.meta().name(), "metadata.name: " + c.meta().name()
                            + " (expected: unique per kind and namespace; first defined at " + first + ")"));
                }
            }
            errors.addAll(moreErrors);
            warnings.addAll(moreWarnings);
            return this;
        }

        /** The snapshot of everything added, with {@code meshConfig} ({@code null}: the default). */
        public ConfigSnapshot build(MeshConfig meshConfig) {
            return new ConfigSnapshot(configs, errors, meshConfig, warnings);
        }
    }

    /**
     * Logs what this snapshot rejects or warns about that {@code previous} did not (so once per object, not on every
     * rebuild): a rejected security policy at ERROR, since a policy the user believes enforced is not; other
     * rejections and the warnings at WARN.
     */
    public void logNewProblems(ConfigSnapshot previous, org.slf4j.Logger logger) {
        for (ConfigError err : errors) {
            if (!previous.errors().contains(err)) {
                if (ConfigParser.isSecurityPolicy(err.kind(), err.reason())) {
                    logger.error("rejected {} -- this security policy is NOT enforced", err);
                } else {
                    logger.warn("rejected {}", err);
                }
            }
        }
        for (ConfigWarning w : warnings) {
            if (!previous.warnings().contains(w)) {
                logger.warn("{}", w);
            }
        }
    }
}
