package io.jmesh.discovery.registry;

import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.Service;
import java.util.List;

/**
 * A source of services and endpoints (Istio's {@code serviceregistry.Instance}): the file registry
 * (ServiceEntry/WorkloadEntry) here; Kubernetes, Consul, ZooKeeper and Nacos behind the same
 * interface. A registry keeps its own view up to date (watching its backend on its own threads)
 * and tells listeners that something changed; discovery then reads {@link #services()} and
 * {@link #endpoints()} and merges every registry into one immutable
 * {@link io.jmesh.discovery.model.MeshSnapshot}, debounced.
 *
 * <p>Thread-safety: all methods may be called from any thread; {@code services()} and
 * {@code endpoints()} return immutable lists that are consistent with each other.
 */
public interface ServiceRegistry extends AutoCloseable {

    /** Returns a short unique name of this registry, e.g. {@code file}, {@code kubernetes}. */
    String name();

    /** Returns the services this registry knows, with fully qualified host names. */
    List<Service> services();

    /** Returns the endpoints of its services. */
    List<Endpoint> endpoints();

    /**
     * Adds a listener called after the services or endpoints changed. Listeners must return
     * quickly (discovery only schedules a debounced rebuild); they are called on the registry's
     * thread.
     */
    void addListener(Listener listener);

    /**
     * Returns whether this registry has read its backend fully once (Kubernetes' informers listed every
     * object), so that {@link #services()} is not a partial view. Discovery serves xDS only once every
     * registry has synced, so that a starting replica never pushes a mesh with services missing. The
     * default is {@code true}: registries that poll serve what they have from the start.
     */
    default boolean hasSynced() {
        return true;
    }

    /** Stops watching the backend. The default does nothing. */
    @Override
    default void close() {}

    /** Told that a registry changed. */
    @FunctionalInterface
    interface Listener {
        /** Called after {@code registry} changed. */
        void onChange(ServiceRegistry registry);
    }
}
