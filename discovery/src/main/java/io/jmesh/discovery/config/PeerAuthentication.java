package io.jmesh.discovery.config;

import java.util.Map;
import java.util.TreeMap;

/**
 * The spec of Istio's {@code PeerAuthentication} (security.istio.io): whether the sidecars of the selected
 * workloads accept plaintext, mutual TLS, or both on their inbound ports. Without {@code selector} the policy
 * is namespace-wide, or mesh-wide in MeshConfig's {@code rootNamespace}. {@code portLevelMtls} (workload
 * policies only) sets the mode per workload (container) port.
 *
 * @see <a href="https://istio.io/latest/docs/reference/config/security/peer_authentication/">PeerAuthentication</a>
 */
public record PeerAuthentication(WorkloadSelector selector, MutualTLS mtls, Map<Integer, MutualTLS> portLevelMtls) {

    public PeerAuthentication {
        portLevelMtls = portLevelMtls == null ? null : java.util.Collections.unmodifiableMap(new TreeMap<>(portLevelMtls));
    }

    /** Returns whether the policy selects workloads by labels (a non-empty {@code matchLabels}). */
    public boolean hasSelector() {
        return selector != null && !selector.matchLabels().isEmpty();
    }

    /** Returns the mode of {@code mtls}, {@link Mode#UNSET} when absent. */
    public Mode mode() {
        return mtls == null ? Mode.UNSET : mtls.level();
    }

    /** {@code mtls} and {@code portLevelMtls} values: a mode name (checked by {@link ConfigValidator}). */
    public record MutualTLS(String mode) {

        /** Returns the mode; {@link Mode#UNSET} when absent. Only call on a validated policy. */
        public Mode level() {
            return mode == null ? Mode.UNSET : Mode.valueOf(mode);
        }
    }

    /** Istio's {@code istio.type.v1beta1.WorkloadSelector}: {@code matchLabels}. */
    public record WorkloadSelector(Map<String, String> matchLabels) {
        public WorkloadSelector {
            matchLabels = matchLabels == null ? Map.of() : Map.copyOf(matchLabels);
        }

        /** Returns whether every label of this selector is in {@code labels}. */
        public boolean selects(Map<String, String> labels) {
            return Labels.selects(matchLabels, labels);
        }
    }

    /** Istio's mTLS modes. UNSET inherits from the parent policy (PERMISSIVE when there is none). */
    public enum Mode {
        UNSET, DISABLE, PERMISSIVE, STRICT
    }
}
