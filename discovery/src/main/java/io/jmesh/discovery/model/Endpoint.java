package io.jmesh.discovery.model;

import java.util.Map;
import java.util.Objects;

/**
 * One endpoint of one service port (Istio's {@code IstioEndpoint}): the workload's address and
 * port, its labels (matched by DestinationRule subsets), locality ({@code region/zone/subzone},
 * may be empty), load-balancing weight (>= 1) and identity. Immutable.
 */
public record Endpoint(String serviceHost, String servicePortName, String address, int port,
                       Map<String, String> labels, String locality, int weight, String network,
                       String serviceAccount) {

    public Endpoint {
        Objects.requireNonNull(serviceHost, "serviceHost");
        Objects.requireNonNull(address, "address");
        labels = labels == null ? Map.of() : Map.copyOf(labels);
        locality = locality == null ? "" : locality;
        network = network == null ? "" : network;
        serviceAccount = serviceAccount == null ? "" : serviceAccount;
        if (weight < 1) {
            weight = 1;
        }
    }

    /** Returns whether every label of {@code selector} is on this endpoint. */
    public boolean matches(Map<String, String> selector) {
        for (Map.Entry<String, String> e : selector.entrySet()) {
            if (!e.getValue().equals(labels.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }
}
