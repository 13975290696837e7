package io.jmesh.discovery.config;

/**
 * A source of Istio objects besides the config directory (Istio's {@code ConfigStoreController}), such as
 * the Kubernetes API server. Discovery merges its objects after the directory's: an object of the same
 * {@code Kind/namespace/name} as a file's is rejected with a reason. Its objects are parsed and validated by
 * {@link ConfigParser}, as files are.
 *
 * <p>Thread-safety: all methods may be called from any thread.
 */
public interface ConfigStore extends AutoCloseable {

    /** Returns a short name for logs, e.g. {@code kubernetes}. */
    String name();

    /**
     * Returns the valid objects and the rejected ones, now. The snapshot's mesh config is not used
     * (discovery's comes from {@code --mesh-config}).
     */
    ConfigSnapshot current();

    /** Returns whether the store has read its backend fully once; discovery serves xDS only after that. */
    boolean hasSynced();

    /** Adds a listener run (on the store's thread, quickly) after {@link #current()} changed. */
    void addListener(Runnable listener);

    /** Stops watching. */
    @Override
    void close();
}
