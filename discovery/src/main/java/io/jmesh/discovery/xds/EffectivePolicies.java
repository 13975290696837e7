package io.jmesh.discovery.xds;

import io.jmesh.discovery.model.MeshSnapshot;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The policies in effect for one workload as the generators compute them, for debug pages
 * ({@code /debug/describe}) that must say exactly what the proxy is sent.
 */
public final class EffectivePolicies {

    private EffectivePolicies() {}

    /** The composed PeerAuthentication mode of a workload ({@code STRICT}, {@code PERMISSIVE} or {@code DISABLE}). */
    public static String mtlsMode(MeshSnapshot snapshot, String namespace, Map<String, String> labels) {
        return MtlsPolicy.of(snapshot, namespace, labels).mode().name();
    }

    /** The port-level modes of a workload that differ from {@link #mtlsMode}, by workload port. */
    public static Map<Integer, String> mtlsPortModes(MeshSnapshot snapshot, String namespace,
                                                     Map<String, String> labels) {
        Map<Integer, String> out = new LinkedHashMap<>();
        MtlsPolicy.of(snapshot, namespace, labels).perPort().forEach((p, m) -> out.put(p, m.name()));
        return out;
    }
}
