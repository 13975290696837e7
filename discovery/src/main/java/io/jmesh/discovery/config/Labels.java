package io.jmesh.discovery.config;

import java.util.Map;

/**
 * Workload selection by labels, as Istio's {@code labels.Instance.SubsetOf} (a {@code WorkloadSelector}'s
 * {@code matchLabels}, a VirtualService's {@code sourceLabels}, a Sidecar's {@code workloadSelector}): every label of
 * the selector is on the workload with the same value. Stateless.
 */
public final class Labels {

    private Labels() {}

    /** Returns whether every entry of {@code selector} is in {@code labels}; an empty selector selects everything. */
    public static boolean selects(Map<String, String> selector, Map<String, String> labels) {
        for (Map.Entry<String, String> e : selector.entrySet()) {
            if (!e.getValue().equals(labels.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }
}
