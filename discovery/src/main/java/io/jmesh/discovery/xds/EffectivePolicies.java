package io.jmesh.discovery.xds;

import io.jmesh.discovery.config.AuthorizationPolicy;
import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.PeerAuthentication;
import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.MeshSnapshot;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The policies in effect for one workload as the generators compute them, for debug pages
 * ({@code /debug/describe}, {@code /dashboard}) that must say exactly what the proxy is sent.
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

    /**
     * The PeerAuthentications that apply to a workload, as {@code NAME.NAMESPACE} in the order they compose
     * (mesh-wide, namespace-wide, workload); of several in one tier, {@link #mtlsMode} follows the oldest.
     */
    public static List<String> peerAuthentications(MeshSnapshot snapshot, String namespace,
                                                   Map<String, String> labels) {
        MtlsPolicy.Applicable a = MtlsPolicy.applicable(snapshot, namespace, labels);
        List<String> out = new ArrayList<>();
        for (List<Config<PeerAuthentication>> tier : List.of(a.mesh(), a.namespace(), a.workload())) {
            for (Config<PeerAuthentication> c : tier) {
                out.add(c.meta().name() + "." + c.meta().namespace());
            }
        }
        return out;
    }

    /**
     * The registry's endpoints at the proxy's address (its own workload, which its inbound config serves), in the
     * snapshot's order; none when the proxy has no address.
     */
    public static List<Endpoint> ownEndpoints(MeshSnapshot snapshot, ProxyNode proxy) {
        return new GenerationContext(proxy, snapshot).ownEndpoints();
    }

    /**
     * The AuthorizationPolicies the proxy's RBAC filters enforce, in evaluation order (CUSTOM, AUDIT, DENY, ALLOW;
     * root namespace first within each): a policy with a {@code targetRef} is not among them (not supported).
     */
    public static List<Config<AuthorizationPolicy>> authorizationPolicies(MeshSnapshot snapshot, ProxyNode proxy) {
        AuthorizationFilters.Selected s = AuthorizationFilters.select(new GenerationContext(proxy, snapshot));
        List<Config<AuthorizationPolicy>> out = new ArrayList<>(s.custom());
        out.addAll(s.audit());
        out.addAll(s.deny());
        out.addAll(s.allow());
        return out;
    }
}
