package io.jmesh.proxy.filter.stats;

import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;

/**
 * The workload facts Istio's metrics label a peer with, read from Istio node metadata: {@code WORKLOAD_NAME},
 * {@code NAMESPACE}, {@code CLUSTER_ID} and the {@code LABELS} {@code app} (else {@code app.kubernetes.io/name}),
 * {@code version} (else {@code app.kubernetes.io/version}), {@code service.istio.io/canonical-name} and
 * {@code service.istio.io/canonical-revision}. A missing value is {@code unknown}; a missing canonical revision of a
 * known workload is {@code latest}, as in Istio. Immutable.
 *
 * <p>Also the codec of Istio's HTTP peer metadata exchange: {@value #HEADER} carries the base64 of a serialized
 * {@code google.protobuf.Struct} of the node metadata, {@value #ID_HEADER} the node id.
 */
public record WorkloadMetadata(String workloadName, String namespace, String app, String version,
                               String canonicalService, String canonicalRevision, String clusterId) {

    /** The request/response header with the sender's node metadata (base64 of a serialized Struct). */
    public static final String HEADER = "x-envoy-peer-metadata";

    /** The request/response header with the sender's node id. */
    public static final String ID_HEADER = "x-envoy-peer-metadata-id";

    static final String UNKNOWN_VALUE = "unknown";

    /** The labels of a peer that sent no metadata. */
    public static final WorkloadMetadata UNKNOWN = new WorkloadMetadata(UNKNOWN_VALUE, UNKNOWN_VALUE, UNKNOWN_VALUE,
            UNKNOWN_VALUE, UNKNOWN_VALUE, UNKNOWN_VALUE, UNKNOWN_VALUE);

    /** Reads node metadata (Istio's keys); null or empty metadata is {@link #UNKNOWN}. */
    public static WorkloadMetadata from(Struct node) {
        if (node == null || node.getFieldsCount() == 0) {
            return UNKNOWN;
        }
        Map<String, Value> f = node.getFieldsMap();
        Struct labels = f.containsKey("LABELS") ? f.get("LABELS").getStructValue() : Struct.getDefaultInstance();
        String workload = string(f, "WORKLOAD_NAME");
        String canonical = label(labels, "service.istio.io/canonical-name");
        String revision = label(labels, "service.istio.io/canonical-revision");
        return new WorkloadMetadata(
                orUnknown(workload),
                orUnknown(string(f, "NAMESPACE")),
                orUnknown(firstOf(label(labels, "app"), label(labels, "app.kubernetes.io/name"))),
                orUnknown(firstOf(label(labels, "version"), label(labels, "app.kubernetes.io/version"))),
                orUnknown(canonical),
                revision.isEmpty() ? (workload.isEmpty() && canonical.isEmpty() ? UNKNOWN_VALUE : "latest") : revision,
                orUnknown(string(f, "CLUSTER_ID")));
    }

    /** The value of {@value #HEADER} for {@code metadata}. */
    public static String encode(Struct metadata) {
        return Base64.getEncoder().encodeToString(metadata.toByteArray());
    }

    /** Decodes a {@value #HEADER} value; null when it is not base64 of a Struct. */
    public static Struct decode(String header) {
        try {
            return Struct.parseFrom(Base64.getDecoder().decode(header.trim()));
        } catch (IllegalArgumentException | InvalidProtocolBufferException e) {
            return null;
        }
    }

    /**
     * A bounded cache of decoded {@value #HEADER} values: peers repeat, so the metadata of one is decoded once
     * (Istio keeps a peer cache for the same reason). Thread-safe; cleared when full.
     */
    static final class Cache {
        private static final int MAX = 1024;
        private final Map<String, WorkloadMetadata> byHeader = new ConcurrentHashMap<>();

        /** The metadata of a {@value #HEADER} value; {@link #UNKNOWN} when it is null or malformed. */
        WorkloadMetadata get(String header) {
            if (header == null || header.isEmpty()) {
                return UNKNOWN;
            }
            WorkloadMetadata m = byHeader.get(header);
            if (m == null) {
                Struct s = decode(header);
                m = s == null ? UNKNOWN : from(s);
                if (byHeader.size() >= MAX) {
                    byHeader.clear();
                }
                byHeader.put(header, m);
            }
            return m;
        }
    }

    private static String string(Map<String, Value> f, String key) {
        Value v = f.get(key);
        return v == null ? "" : v.getStringValue();
    }

    private static String label(Struct labels, String key) {
        return string(labels.getFieldsMap(), key);
    }

    private static String firstOf(String a, String b) {
        return a.isEmpty() ? b : a;
    }

    private static String orUnknown(String s) {
        return s == null || s.isEmpty() ? UNKNOWN_VALUE : s;
    }

    /** The labels in Istio's order: workload, namespace, app, version, canonical service, revision, cluster. */
    List<String> asList() {
        return List.of(workloadName, namespace, app, version, canonicalService, canonicalRevision, clusterId);
    }
}
