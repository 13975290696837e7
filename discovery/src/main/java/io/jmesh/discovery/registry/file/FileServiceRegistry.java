package io.jmesh.discovery.registry.file;

import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.ConfigKind;
import io.jmesh.discovery.config.ConfigSnapshot;
import io.jmesh.discovery.config.ServiceEntry;
import io.jmesh.discovery.config.WorkloadEntry;
import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.model.ServicePort;
import io.jmesh.discovery.registry.ServiceRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The registry of Istio's own ServiceEntry and WorkloadEntry objects (Istio's
 * {@code serviceentry} controller): one {@link Service} per ServiceEntry host, with endpoints from
 * the entry's inline {@code endpoints} or from the WorkloadEntries of its namespace that its
 * {@code workloadSelector} selects. An endpoint's port for a service port is the entry's
 * {@code ports[name]}, else the service port's {@code targetPort}, else its number.
 * Fed by {@link #update(ConfigSnapshot)}; thread-safe.
 */
public final class FileServiceRegistry implements ServiceRegistry {

    private record State(List<Service> services, List<Endpoint> endpoints) {}

    private final List<Listener> listeners = new CopyOnWriteArrayList<>();
    private volatile State state = new State(List.of(), List.of());

    @Override
    public String name() {
        return "file";
    }

    /** Recomputes services and endpoints from {@code config}; tells listeners if they changed. */
    public void update(ConfigSnapshot config) {
        List<Config<ServiceEntry>> entries = config.of(ConfigKind.SERVICE_ENTRY);
        List<Config<WorkloadEntry>> workloads = config.of(ConfigKind.WORKLOAD_ENTRY);
        List<Service> services = new ArrayList<>();
        List<Endpoint> endpoints = new ArrayList<>();
        for (Config<ServiceEntry> c : entries) {
            ServiceEntry se = c.spec();
            String ns = c.meta().namespace();
            List<ServicePort> ports = new ArrayList<>();
            for (ServiceEntry.Port p : se.ports()) {
                ports.add(new ServicePort(p.name(), p.number(), p.protocol() == null ? "" : p.protocol(),
                        p.targetPort() == null ? p.number() : p.targetPort()));
            }
            List<WorkloadEntry> members = new ArrayList<>(se.endpoints());
            if (se.workloadSelector() != null) {
                for (Config<WorkloadEntry> w : workloads) {
                    if (w.meta().namespace().equals(ns) && selects(se.workloadSelector().labels(), w.spec())) {
                        members.add(w.spec());
                    }
                }
            }
            String resolution = se.resolution() == null ? "NONE" : se.resolution();
            for (String host : se.hosts()) {
                services.add(new Service(host, ns, ports, resolution, "MESH_EXTERNAL".equals(se.location()),
                        se.addresses(), name(), se.subjectAltNames(), se.exportTo()));
                for (ServicePort port : ports) {
                    for (WorkloadEntry we : members) {
                        Integer epPort = we.ports().get(port.name());
                        endpoints.add(new Endpoint(host, port.name(), we.address(),
                                epPort != null ? epPort : port.targetPort(), we.labels(), we.locality(),
                                we.weight() == null ? 1 : we.weight(), we.network(), we.serviceAccount()));
                    }
                    if (members.isEmpty() && resolution.startsWith("DNS")) {
                        endpoints.add(new Endpoint(host, port.name(), host, port.targetPort(), Map.of(), "", 1,
                                "", ""));
                    }
                }
            }
        }
        State next = new State(List.copyOf(services), List.copyOf(endpoints));
        if (!next.equals(state)) {
            state = next;
            listeners.forEach(l -> l.onChange(this));
        }
    }

    private static boolean selects(Map<String, String> selector, WorkloadEntry we) {
        for (Map.Entry<String, String> e : selector.entrySet()) {
            if (!e.getValue().equals(we.labels().get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    @Override
    public List<Service> services() {
        return state.services();
    }

    @Override
    public List<Endpoint> endpoints() {
        return state.endpoints();
    }

    @Override
    public void addListener(Listener listener) {
        listeners.add(listener);
    }
}
