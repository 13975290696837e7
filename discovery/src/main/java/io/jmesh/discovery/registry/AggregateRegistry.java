package io.jmesh.discovery.registry;

import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.Service;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Merges registries in priority order (Istio's aggregate controller): for a host served by several
 * registries the first one's service and endpoints win. Listeners of the aggregate hear about any
 * member's change. Thread-safe.
 */
public final class AggregateRegistry implements ServiceRegistry {

    private final List<ServiceRegistry> registries = new CopyOnWriteArrayList<>();
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();

    /** Adds {@code registry} after the ones already added (lower priority). */
    public void add(ServiceRegistry registry) {
        registries.add(registry);
        registry.addListener(r -> listeners.forEach(l -> l.onChange(r)));
    }

    /** Returns the member registries in priority order. */
    public List<ServiceRegistry> registries() {
        return List.copyOf(registries);
    }

    @Override
    public String name() {
        return "aggregate";
    }

    @Override
    public List<Service> services() {
        List<Service> out = new ArrayList<>();
        Set<String> hosts = new HashSet<>();
        for (ServiceRegistry r : registries) {
            for (Service s : r.services()) {
                if (hosts.add(s.hostname())) {
                    out.add(s);
                }
            }
        }
        return out;
    }

    @Override
    public List<Endpoint> endpoints() {
        // Endpoints of a host come only from the registry whose service won.
        List<Endpoint> out = new ArrayList<>();
        Set<String> owned = new HashSet<>();
        for (ServiceRegistry r : registries) {
            Set<String> mine = new HashSet<>();
            for (Service s : r.services()) {
                if (!owned.contains(s.hostname())) {
                    mine.add(s.hostname());
                }
            }
            for (Endpoint e : r.endpoints()) {
                if (mine.contains(e.serviceHost())) {
                    out.add(e);
                }
            }
            owned.addAll(mine);
        }
        return out;
    }

    /** Returns whether every member has synced. */
    @Override
    public boolean hasSynced() {
        for (ServiceRegistry r : registries) {
            if (!r.hasSynced()) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void addListener(Listener listener) {
        listeners.add(listener);
    }

    @Override
    public void close() {
        registries.forEach(ServiceRegistry::close);
    }
}
