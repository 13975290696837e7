package io.jmesh.proxy.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.cluster.v3.Filter;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.telemetry.Stats;

/** A cluster's upstream network filters ({@code filters}): Istio's metadata exchange, and nothing else. */
class ClusterFiltersTest {

    private static Cluster.Builder cluster() {
        return Cluster.newBuilder().setName("outbound|9000||echo.default.svc.cluster.local")
                .setType(Cluster.DiscoveryType.STATIC);
    }

    private static Any mx(String protocol) {
        return Any.pack(com.github.xds.type.v3.TypedStruct.newBuilder()
                .setTypeUrl("type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange")
                .setValue(Struct.newBuilder().putFields("protocol", Value.newBuilder().setStringValue(protocol).build()))
                .build());
    }

    @Test
    void metadataExchangeNamesItsProtocol() throws Exception {
        UpstreamCluster c = UpstreamCluster.build(cluster().addFilters(Filter.newBuilder()
                .setName("istio.metadata_exchange").setTypedConfig(mx("istio-peer-exchange"))).build(), new Stats());
        assertEquals("istio-peer-exchange", c.metadataExchangeProtocol());
        assertNull(UpstreamCluster.build(cluster().build(), new Stats()).metadataExchangeProtocol());
    }

    @Test
    void anotherFilterOrABadConfigIsRefusedByName() {
        ConfigException other = assertThrows(ConfigException.class, () -> UpstreamCluster.build(cluster()
                .addFilters(Filter.newBuilder().setName("envoy.filters.network.upstream.foo")).build(), new Stats()));
        assertEquals("filters[0].name: envoy.filters.network.upstream.foo (expected: istio.metadata_exchange, the "
                + "only upstream network filter)", other.getMessage());
        ConfigException empty = assertThrows(ConfigException.class, () -> UpstreamCluster.build(cluster()
                .addFilters(Filter.newBuilder().setName("istio.metadata_exchange").setTypedConfig(mx(""))).build(),
                new Stats()));
        assertEquals("filters[0].typed_config.protocol: \"\" (expected: the ALPN protocol of the exchange, e.g. "
                + "istio-peer-exchange)", empty.getMessage());
    }
}
