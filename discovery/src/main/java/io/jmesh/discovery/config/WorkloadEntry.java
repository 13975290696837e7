package io.jmesh.discovery.config;

import java.util.Map;

/**
 * The spec of Istio's {@code WorkloadEntry} (also the shape of a ServiceEntry's inline endpoint):
 * one workload's address, its per-port-name ports, labels, locality ({@code region/zone/subzone})
 * and load-balancing weight.
 */
public record WorkloadEntry(String address, Map<String, Integer> ports, Map<String, String> labels,
                            String network, String locality, Integer weight, String serviceAccount) {

    public WorkloadEntry {
        ports = ports == null ? Map.of() : Map.copyOf(ports);
        labels = labels == null ? Map.of() : Map.copyOf(labels);
    }
}
