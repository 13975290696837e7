package io.jmesh.discovery.xds;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.envoyproxy.envoy.config.listener.v3.Filter;

/**
 * Istio's TCP metadata exchange filters ({@code istio.metadata_exchange}, config
 * {@code envoy.tcp.metadataexchange.config.MetadataExchange} {@code protocol: istio-peer-exchange} as a
 * {@code TypedStruct}), as istiod's {@code TCPListenerMx} and {@code TCPClusterMx}: first on a sidecar's inbound TCP
 * chains, and in {@code filters} of the outbound clusters of TCP ports, so that both sidecars of a mutual TLS TCP
 * connection learn each other's workload for {@code istio_tcp_*}. (HTTP and RPC carry it in headers.)
 */
final class MetadataExchangeFilters {

    static final String NAME = "istio.metadata_exchange";
    static final String TYPE_URL = "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange";
    static final String PROTOCOL = "istio-peer-exchange";

    private MetadataExchangeFilters() {}

    private static com.google.protobuf.Any config() {
        return Protos.any(com.github.xds.type.v3.TypedStruct.newBuilder().setTypeUrl(TYPE_URL)
                .setValue(Struct.newBuilder().putFields("protocol", Value.newBuilder().setStringValue(PROTOCOL)
                        .build()))
                .build());
    }

    /** The listener filter (Istio's {@code TCPListenerMx}). */
    static Filter listener() {
        return Filter.newBuilder().setName(NAME).setTypedConfig(config()).build();
    }

    /** The cluster filter (Istio's {@code TCPClusterMx}). */
    static io.envoyproxy.envoy.config.cluster.v3.Filter cluster() {
        return io.envoyproxy.envoy.config.cluster.v3.Filter.newBuilder().setName(NAME).setTypedConfig(config()).build();
    }
}
