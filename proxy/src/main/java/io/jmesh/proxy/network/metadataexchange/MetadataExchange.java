package io.jmesh.proxy.network.metadataexchange;

import java.io.IOException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.Any;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.jmesh.proxy.config.ConfigException;

/**
 * The wire format and config of Istio's TCP metadata exchange. Each side, once the TLS handshake negotiated the
 * ALPN {@link #PROTOCOL}, sends first:
 *
 * <pre>
 * +----------------+----------------+--------------------------------------------------+
 * | magic (4)      | length (4)     | google.protobuf.Any (length bytes)               |
 * | 0x3D230467     | big-endian     |   type_url: type.googleapis.com/google.protobuf.Struct
 * |                |                |   value: Struct {                                |
 * |                |                |     "x-envoy-peer-metadata":    {node metadata}  |
 * |                |                |     "x-envoy-peer-metadata-id": "node id" }      |
 * +----------------+----------------+--------------------------------------------------+
 * </pre>
 *
 * then the connection's own bytes. A receiver that finds another magic passes everything on untouched (the peer
 * does not exchange). The config ({@code envoy.tcp.metadataexchange.config.MetadataExchange}, packed or as a
 * {@code TypedStruct}, as istiod sends it) names the ALPN protocol that starts the exchange.
 */
public final class MetadataExchange {

    private static final Logger logger = LoggerFactory.getLogger(MetadataExchange.class);

    /** The filter's name, on listener filter chains and in a cluster's {@code filters}. */
    public static final String NAME = "istio.metadata_exchange";

    /** The config's type URL. */
    public static final String TYPE_URL = "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange";

    /** The ALPN protocol Istio's sidecars exchange metadata under. */
    public static final String PROTOCOL = "istio-peer-exchange";

    /** The first four bytes of an exchange header. */
    public static final int MAGIC = 0x3D230467;

    /** The header before the data: magic and length. */
    static final int HEADER_BYTES = 8;

    /**
     * The largest exchange data accepted (a node's metadata is a few KiB); a peer announcing more has its connection
     * closed.
     */
    public static final int MAX_DATA_BYTES = 64 * 1024;

    /** The key of the sender's node metadata in the exchanged Struct (as the HTTP exchange's header). */
    static final String METADATA_KEY = "x-envoy-peer-metadata";

    /** The key of the sender's node id in the exchanged Struct. */
    static final String ID_KEY = "x-envoy-peer-metadata-id";

    private static final String STRUCT_TYPE_URL = "type.googleapis.com/google.protobuf.Struct";
    private static final String TYPED_STRUCT = "type.googleapis.com/xds.type.v3.TypedStruct";
    private static final String UDPA_TYPED_STRUCT = "type.googleapis.com/udpa.type.v1.TypedStruct";

    private MetadataExchange() {}

    /** The bytes one side sends: magic, length and the Any of its node metadata and id. */
    public static byte[] frame(Struct nodeMetadata, String nodeId) {
        Struct.Builder data = Struct.newBuilder()
                .putFields(METADATA_KEY, Value.newBuilder().setStructValue(nodeMetadata).build());
        if (nodeId != null && !nodeId.isEmpty()) {
            data.putFields(ID_KEY, Value.newBuilder().setStringValue(nodeId).build());
        }
        byte[] any = Any.newBuilder().setTypeUrl(STRUCT_TYPE_URL).setValue(data.build().toByteString()).build()
                .toByteArray();
        byte[] out = new byte[HEADER_BYTES + any.length];
        putInt(out, 0, MAGIC);
        putInt(out, 4, any.length);
        System.arraycopy(any, 0, out, HEADER_BYTES, any.length);
        return out;
    }

    private static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }

    /** What a peer sent: its node metadata (empty when absent) and id (null when absent). */
    record Peer(Struct metadata, String id) {}

    /** The exchanged data (the bytes after the header); null when it is not an Any of a Struct. */
    static Peer parseData(byte[] data) {
        try {
            Any any = Any.parseFrom(data);
            if (!any.getTypeUrl().equals(STRUCT_TYPE_URL)) {
                return null;
            }
            Struct s = Struct.parseFrom(any.getValue());
            Value md = s.getFieldsMap().get(METADATA_KEY);
            Value id = s.getFieldsMap().get(ID_KEY);
            return new Peer(md == null ? Struct.getDefaultInstance() : md.getStructValue(),
                    id == null ? null : id.getStringValue());
        } catch (InvalidProtocolBufferException e) {
            return null;
        }
    }

    /**
     * Reads the filter's config: its {@code protocol} (required). {@code enable_discovery} (peers without an
     * exchange found by workload discovery) and {@code additional_labels} are not supported and are warned about by
     * name when set.
     *
     * @throws ConfigException naming the field
     */
    public static String protocol(Any typedConfig) throws ConfigException {
        String url = typedConfig == null ? "" : typedConfig.getTypeUrl();
        String protocol = "";
        boolean discovery = false;
        boolean labels = false;
        try {
            if (url.equals(TYPED_STRUCT) || url.equals(UDPA_TYPED_STRUCT)) {
                String inner;
                Struct value;
                if (url.equals(TYPED_STRUCT)) {
                    var ts = typedConfig.unpack(com.github.xds.type.v3.TypedStruct.class);
                    inner = ts.getTypeUrl();
                    value = ts.getValue();
                } else {
                    var ts = typedConfig.unpack(com.github.udpa.udpa.type.v1.TypedStruct.class);
                    inner = ts.getTypeUrl();
                    value = ts.getValue();
                }
                if (!inner.equals(TYPE_URL)) {
                    throw new ConfigException("type_url: " + inner + " (expected: " + TYPE_URL + ")");
                }
                for (var e : value.getFieldsMap().entrySet()) {
                    switch (e.getKey()) {
                        case "protocol" -> {
                            if (e.getValue().getKindCase() != Value.KindCase.STRING_VALUE) {
                                throw new ConfigException("value.protocol: " + e.getValue().getKindCase()
                                        + " (expected: a string)");
                            }
                            protocol = e.getValue().getStringValue();
                        }
                        case "enable_discovery" -> discovery = e.getValue().getBoolValue();
                        case "additional_labels" -> labels = e.getValue().getListValue().getValuesCount() > 0;
                        default -> throw new ConfigException("value." + e.getKey() + ": unknown field (expected: "
                                + "protocol, enable_discovery, additional_labels)");
                    }
                }
            } else if (url.equals(TYPE_URL)) {
                CodedInputStream in = typedConfig.getValue().newCodedInput();
                for (int tag; (tag = in.readTag()) != 0; ) {
                    switch (tag) {
                        case 10 -> protocol = in.readStringRequireUtf8();
                        case 16 -> discovery = in.readBool();
                        case 26 -> {
                            in.readStringRequireUtf8();
                            labels = true;
                        }
                        default -> in.skipField(tag);
                    }
                }
            } else {
                throw new ConfigException("@type: " + (url.isEmpty() ? "(none)" : url) + " (expected: " + TYPE_URL
                        + ", or a TypedStruct of it)");
            }
        } catch (IOException e) {
            throw new ConfigException("value: " + e.getMessage() + " (expected: a " + TYPE_URL + ")", e);
        }
        if (protocol.isEmpty()) {
            throw new ConfigException("protocol: \"\" (expected: the ALPN protocol of the exchange, e.g. " + PROTOCOL
                    + ")");
        }
        if (discovery) {
            logger.warn("{}: enable_discovery: true is not supported (no workload discovery): a peer is known only "
                    + "from its exchange", NAME);
        }
        if (labels) {
            logger.warn("{}: additional_labels are not supported; ignored", NAME);
        }
        return protocol;
    }
}
