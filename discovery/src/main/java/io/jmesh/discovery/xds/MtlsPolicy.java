package io.jmesh.discovery.xds;

import io.jmesh.discovery.config.Config;
import io.jmesh.discovery.config.PeerAuthentication;
import io.jmesh.discovery.config.PeerAuthentication.Mode;
import io.jmesh.discovery.model.MeshSnapshot;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The PeerAuthentication in effect for one workload, composed as istiod's {@code ComposePeerAuthentication}
 * does: the oldest mesh-wide policy (no selector, in MeshConfig's {@code rootNamespace}), then the oldest
 * namespace-wide one (no selector, in the workload's namespace), then the oldest workload policy (a selector
 * matching the workload's labels, in its namespace, not the root namespace), each overriding the mode of the
 * one before unless its mode is UNSET. Without any policy the mode is PERMISSIVE. The workload policy's
 * {@code portLevelMtls} sets a mode per workload port; an UNSET port inherits the composed mode.
 *
 * <p>"Oldest" is {@code metadata.creationTimestamp}; a policy without one counts as older than any with
 * one, and ties go to the first by name. Immutable.
 *
 * @param mode    the mode of ports without a port-level setting, never UNSET
 * @param perPort port-level modes by workload port, never UNSET
 */
record MtlsPolicy(Mode mode, Map<Integer, Mode> perPort) {

    /** Istio's default when no policy applies. */
    static final MtlsPolicy DEFAULT = new MtlsPolicy(Mode.PERMISSIVE, Map.of());

    /** Returns the mode of workload port {@code port}. */
    Mode mode(int port) {
        return perPort.getOrDefault(port, mode);
    }

    /**
     * The PeerAuthentications that apply to one workload, by tier, each in the snapshot's order: mesh-wide,
     * namespace-wide, workload (selector). {@link #of} composes the oldest of each tier.
     */
    record Applicable(List<Config<PeerAuthentication>> mesh, List<Config<PeerAuthentication>> namespace,
                      List<Config<PeerAuthentication>> workload) {}

    /** Returns the PeerAuthentications that apply to a workload in {@code namespace} with {@code labels}. */
    static Applicable applicable(MeshSnapshot snapshot, String namespace, Map<String, String> labels) {
        String root = snapshot.meshConfig().rootNamespace();
        Applicable out = new Applicable(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        for (Config<PeerAuthentication> c : snapshot.peerAuthentications()) {
            String cns = c.meta().namespace();
            PeerAuthentication pa = c.spec();
            if (!pa.hasSelector()) {
                if (cns.equals(root)) {
                    out.mesh().add(c);
                } else if (cns.equals(namespace)) {
                    out.namespace().add(c);
                }
            } else if (!cns.equals(root) && cns.equals(namespace) && pa.selector().selects(labels)) {
                out.workload().add(c);
            }
        }
        return out;
    }

    /** Returns the policy of a workload in {@code namespace} with {@code labels}. */
    static MtlsPolicy of(MeshSnapshot snapshot, String namespace, Map<String, String> labels) {
        Applicable applicable = applicable(snapshot, namespace, labels);
        Config<PeerAuthentication> mesh = oldest(applicable.mesh());
        Config<PeerAuthentication> ns = oldest(applicable.namespace());
        Config<PeerAuthentication> workload = oldest(applicable.workload());
        Mode mode = Mode.PERMISSIVE;
        for (Config<PeerAuthentication> c : java.util.Arrays.asList(mesh, ns, workload)) {
            if (c != null && c.spec().mode() != Mode.UNSET) {
                mode = c.spec().mode();
            }
        }
        if (workload == null || workload.spec().portLevelMtls() == null) {
            return new MtlsPolicy(mode, Map.of());
        }
        Map<Integer, Mode> ports = new TreeMap<>();
        for (Map.Entry<Integer, PeerAuthentication.MutualTLS> e : workload.spec().portLevelMtls().entrySet()) {
            Mode m = e.getValue().level();
            ports.put(e.getKey(), m == Mode.UNSET ? mode : m);
        }
        return new MtlsPolicy(mode, Collections.unmodifiableMap(ports));
    }

    private static Config<PeerAuthentication> oldest(List<Config<PeerAuthentication>> tier) {
        Config<PeerAuthentication> out = null;
        for (Config<PeerAuthentication> c : tier) {
            out = older(out, c);
        }
        return out;
    }

    private static Config<PeerAuthentication> older(Config<PeerAuthentication> current,
                                                    Config<PeerAuthentication> candidate) {
        if (current == null) {
            return candidate;
        }
        Instant a = time(current);
        Instant b = time(candidate);
        return b.isBefore(a) ? candidate : current;
    }

    private static Instant time(Config<?> c) {
        return c.meta().creationTimestamp() == null ? Instant.MIN : c.meta().creationTimestamp();
    }
}
