package io.jmesh.discovery.xds;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.jmesh.proxy.config.ConfigException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Who is asking, read from the xDS {@link Node} as Istio reads it. The id is
 * {@code <type>~<ip>~<pod name>.<namespace>~<namespace>.svc.cluster.local} with type
 * {@code sidecar} or {@code router}; metadata {@code NAMESPACE}, {@code LABELS},
 * {@code CLUSTER_ID} and {@code GENERATOR} add to it. A node with metadata {@code GENERATOR=grpc}
 * is a proxyless gRPC client (as Istio's grpc-agent bootstraps them) and its id may be any string.
 * Metadata {@code INTERCEPTION_MODE} ({@code REDIRECT} or {@code TPROXY}) says that iptables captures the
 * workload's traffic ({@code jmesh iptables}); without it (or with {@code NONE}) the sidecar is not captured.
 * Immutable.
 *
 * @param interceptionMode {@code REDIRECT}, {@code TPROXY}, or empty for a sidecar that is not captured
 * @param metadata         the node metadata whose values are strings (e.g. {@code ISTIO_VERSION}), for
 *                         EnvoyFilter's {@code match.proxy}
 */
public record ProxyNode(Type type, String id, String ip, String name, String namespace,
                        Map<String, String> labels, String clusterId, String interceptionMode,
                        Map<String, String> metadata) {

    /** A node without string metadata. */
    public ProxyNode(Type type, String id, String ip, String name, String namespace, Map<String, String> labels,
                     String clusterId, String interceptionMode) {
        this(type, id, ip, name, namespace, labels, clusterId, interceptionMode, Map.of());
    }

    /** A node that is not captured. */
    public ProxyNode(Type type, String id, String ip, String name, String namespace, Map<String, String> labels,
                     String clusterId) {
        this(type, id, ip, name, namespace, labels, clusterId, "");
    }

    /** The three kinds of client discovery serves. */
    public enum Type {
        /** A sidecar proxy beside one workload. */
        SIDECAR,
        /** A gateway proxy (Istio's {@code router}). */
        ROUTER,
        /** A gRPC application with gRPC's own xDS client. */
        PROXYLESS_GRPC
    }

    public ProxyNode {
        labels = labels == null ? Map.of() : Map.copyOf(labels);
        interceptionMode = interceptionMode == null ? "" : interceptionMode;
        metadata = metadata == null ? Map.of() : Map.copyOf(metadata);
    }

    /** The proxy's version as it reports it in metadata {@code ISTIO_VERSION}; empty when it does not. */
    public String istioVersion() {
        return metadata.getOrDefault("ISTIO_VERSION", "");
    }

    /** Whether iptables redirects this sidecar's traffic (metadata {@code INTERCEPTION_MODE} REDIRECT or TPROXY). */
    public boolean captured() {
        return !interceptionMode.isEmpty();
    }

    /**
     * Reads a node.
     *
     * @throws ConfigException when the id is not in Istio's form and the node is not a gRPC client
     */
    public static ProxyNode of(Node node) throws ConfigException {
        Struct md = node.getMetadata();
        String generator = string(md, "GENERATOR");
        Map<String, String> labels = new LinkedHashMap<>();
        Value lv = md.getFieldsMap().get("LABELS");
        if (lv != null && lv.hasStructValue()) {
            lv.getStructValue().getFieldsMap().forEach((k, v) -> labels.put(k, v.getStringValue()));
        }
        String clusterId = string(md, "CLUSTER_ID");
        Map<String, String> strings = new LinkedHashMap<>();
        md.getFieldsMap().forEach((k, v) -> {
            if (v.hasStringValue()) {
                strings.put(k, v.getStringValue());
            }
        });
        String[] parts = node.getId().split("~", -1);
        boolean grpc = "grpc".equals(generator);
        if (parts.length != 4 || !(parts[0].equals("sidecar") || parts[0].equals("router"))) {
            if (!grpc) {
                throw new ConfigException("node.id: " + node.getId()
                        + " (expected: sidecar~IP~name.namespace~namespace.svc.cluster.local or router~...)");
            }
            String ns = string(md, "NAMESPACE");
            return new ProxyNode(Type.PROXYLESS_GRPC, node.getId(), "", node.getId(),
                    ns.isEmpty() ? "default" : ns, labels, clusterId, "", strings);
        }
        String podAndNs = parts[2];
        int dot = podAndNs.lastIndexOf('.');
        String name = dot > 0 ? podAndNs.substring(0, dot) : podAndNs;
        String ns = string(md, "NAMESPACE");
        if (ns.isEmpty()) {
            ns = dot > 0 ? podAndNs.substring(dot + 1) : "default";
        }
        Type type = grpc ? Type.PROXYLESS_GRPC : parts[0].equals("router") ? Type.ROUTER : Type.SIDECAR;
        String mode = string(md, "INTERCEPTION_MODE");
        switch (mode) {
            case "", "NONE" -> mode = "";
            case "REDIRECT", "TPROXY" -> { }
            default -> throw new ConfigException("node.metadata.INTERCEPTION_MODE: " + mode
                    + " (expected: REDIRECT, TPROXY or NONE)");
        }
        return new ProxyNode(type, node.getId(), parts[1], name, ns, labels, clusterId,
                type == Type.SIDECAR ? mode : "", strings);
    }

    private static String string(Struct md, String key) {
        Value v = md.getFieldsMap().get(key);
        return v == null ? "" : v.getStringValue();
    }
}
