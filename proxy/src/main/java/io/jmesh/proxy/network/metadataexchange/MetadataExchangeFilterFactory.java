package io.jmesh.proxy.network.metadataexchange;

import java.util.List;

import com.google.protobuf.Any;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.network.NetworkFilterFactory;
import io.jmesh.proxy.network.NetworkFilterInstaller;
import io.jmesh.proxy.telemetry.Stats;

/**
 * {@code istio.metadata_exchange} as a listener's network filter (Istio puts it first on the inbound TCP chains of
 * sidecars): on a chain that terminates TLS, each connection gets a {@link MetadataExchangeHandler} after the TLS
 * handler, which exchanges node metadata with the downstream proxy when the ALPN is the config's {@code protocol},
 * and records the peer under {@link PeerSlot#DOWNSTREAM} for the stats filters after it. On a plaintext chain it
 * does nothing (there is no ALPN to agree on), as Istio's filter.
 */
public final class MetadataExchangeFilterFactory implements NetworkFilterFactory {

    @Override
    public String name() {
        return MetadataExchange.NAME;
    }

    @Override
    public List<String> typeUrls() {
        return List.of(MetadataExchange.TYPE_URL);
    }

    @Override
    public NetworkFilterInstaller create(Any typedConfig, Context context) throws ConfigException {
        String protocol;
        try {
            protocol = MetadataExchange.protocol(typedConfig);
        } catch (ConfigException e) {
            throw e.under("typed_config");
        }
        Stats stats = context.stats();
        byte[] frame = MetadataExchange.frame(stats.nodeMetadata(), stats.nodeId());
        return m -> {
            if (!m.secure()) {
                return;
            }
            PeerSlot slot = new PeerSlot();
            m.pipeline().channel().attr(PeerSlot.DOWNSTREAM).set(slot);
            m.pipeline().addLast(MetadataExchangeHandler.NAME, new MetadataExchangeHandler(protocol, frame, slot));
        };
    }
}
