package io.jmesh.discovery.config;

import java.util.Objects;

/**
 * One validated Istio object: its metadata and its typed spec. Immutable.
 *
 * @param <S> the spec record, e.g. {@link VirtualService}
 */
public record Config<S>(ConfigMeta meta, S spec) {

    public Config {
        Objects.requireNonNull(meta, "meta");
        Objects.requireNonNull(spec, "spec");
    }

    /** Returns the spec as {@code type}, for callers that select by {@link ConfigKind}. */
    public <T> T spec(Class<T> type) {
        return type.cast(spec);
    }
}
