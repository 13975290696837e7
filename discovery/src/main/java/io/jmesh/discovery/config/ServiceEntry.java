package io.jmesh.discovery.config;

import java.util.List;
import java.util.Map;

/**
 * The spec of Istio's {@code ServiceEntry}: a service added to the mesh's registry, with its
 * endpoints inline or selected from {@link WorkloadEntry} objects. Field names are Istio's.
 *
 * @see <a href="https://istio.io/latest/docs/reference/config/networking/service-entry/">ServiceEntry</a>
 */
public record ServiceEntry(List<String> hosts, List<String> addresses, List<Port> ports, String location,
                           String resolution, List<WorkloadEntry> endpoints, WorkloadSelector workloadSelector,
                           List<String> exportTo, List<String> subjectAltNames) {

    public ServiceEntry {
        hosts = hosts == null ? List.of() : List.copyOf(hosts);
        addresses = addresses == null ? List.of() : List.copyOf(addresses);
        ports = ports == null ? List.of() : List.copyOf(ports);
        endpoints = endpoints == null ? List.of() : List.copyOf(endpoints);
        exportTo = exportTo == null ? List.of() : List.copyOf(exportTo);
        subjectAltNames = subjectAltNames == null ? List.of() : List.copyOf(subjectAltNames);
    }

    /** A service port: {@code number}, {@code protocol} (HTTP, HTTP2, GRPC, TCP, TLS, HTTPS, ...), {@code name}. */
    public record Port(Integer number, String protocol, String name, Integer targetPort) {}

    /** Selects workloads by labels. */
    public record WorkloadSelector(Map<String, String> labels) {
        public WorkloadSelector {
            labels = labels == null ? Map.of() : Map.copyOf(labels);
        }
    }
}
