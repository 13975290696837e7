package io.jmesh.discovery.xds;

import com.google.protobuf.BoolValue;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst;
import java.util.Map;

/**
 * The listeners of a sidecar whose traffic iptables captures ({@code jmesh iptables}; node metadata
 * {@code INTERCEPTION_MODE}), as Istio generates them for a pod:
 * <ul>
 *   <li>{@code virtualOutbound} (0.0.0.0:15001, {@code use_original_dst}) takes what iptables redirects outbound and
 *       hands each connection to the {@code bind_to_port: false} listener of its original destination
 *       ({@code 0.0.0.0_9080}, {@code 10.0.0.5_3306}), or keeps it on its own chain, to {@code PassthroughCluster}
 *       (ALLOW_ANY) or {@code BlackHoleCluster} (REGISTRY_ONLY);</li>
 *   <li>{@code virtualInbound} (0.0.0.0:15006) takes what iptables redirects inbound: its {@code original_dst}
 *       listener filter restores the destination, whose port selects the filter chain; it hands nothing off (no
 *       {@code use_original_dst}: the outbound listener of the same port must not get inbound traffic). In TPROXY
 *       mode it is {@code transparent}.</li>
 * </ul>
 * Sidecars that are not captured keep the listeners of {@link ListenerGenerator} unchanged, where
 * {@code virtualInbound}'s {@code use_original_dst} marks it for the proxy's per-port split.
 */
final class CapturedSidecarListeners {

    static final String ORIGINAL_DST = "envoy.filters.listener.original_dst";

    private CapturedSidecarListeners() {}

    /** Rewrites {@code listeners} (by name) for a sidecar captured in {@code mode} (REDIRECT or TPROXY). */
    static void apply(String mode, Map<String, Message> listeners) {
        Message inbound = listeners.get("virtualInbound");
        if (inbound instanceof Listener l) {
            Listener.Builder b = l.toBuilder().clearUseOriginalDst();
            if (l.getListenerFiltersList().stream().noneMatch(f -> f.getName().equals(ORIGINAL_DST))) {
                b.addListenerFilters(0, ListenerFilter.newBuilder().setName(ORIGINAL_DST)
                        .setTypedConfig(Protos.any(OriginalDst.getDefaultInstance())));
            }
            if (mode.equals("TPROXY")) {
                b.setTransparent(BoolValue.of(true));
            }
            listeners.put("virtualInbound", b.build());
        }
    }
}
