package io.jmesh.discovery.xds;

import com.google.protobuf.BoolValue;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.BindConfig;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst;
import io.envoyproxy.envoy.extensions.filters.listener.original_src.v3.OriginalSrc;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import java.util.Map;

/**
 * The listeners and clusters of a sidecar whose traffic iptables captures ({@code jmesh iptables}; node metadata
 * {@code INTERCEPTION_MODE}), as Istio generates them for a pod:
 * <ul>
 *   <li>{@code virtualOutbound} (0.0.0.0:15001, {@code use_original_dst}) takes what iptables redirects outbound and
 *       hands each connection to the {@code bind_to_port: false} listener of its original destination
 *       ({@code 0.0.0.0_9080}, {@code 10.0.0.5_3306}), or keeps it on its own chain, to {@code PassthroughCluster}
 *       (ALLOW_ANY) or {@code BlackHoleCluster} (REGISTRY_ONLY);</li>
 *   <li>{@code virtualInbound} (0.0.0.0:15006) takes what iptables redirects inbound: its {@code original_dst}
 *       listener filter restores the destination, whose port selects the filter chain; it hands nothing off (no
 *       {@code use_original_dst}: the outbound listener of the same port must not get inbound traffic). In TPROXY
 *       mode it is {@code transparent}. What no chain takes goes to {@code InboundPassthroughCluster}, the original
 *       destination from source {@code 127.0.0.6}, which the iptables rules let through (from {@code 127.0.0.1} or
 *       the pod IP, the proxy's own call to its pod IP would be captured again).</li>
 *   <li>In TPROXY mode, as Istio, {@code virtualInbound} also has the {@code original_src} listener filter (mark
 *       1337): the proxy's connection to the application ({@code inbound|<port>||}, 127.0.0.1) comes from the
 *       client's own address, marked so that the policy route of {@code jmesh iptables -m TPROXY} brings the
 *       application's answers back to the proxy.</li>
 * </ul>
 * Sidecars that are not captured keep the listeners of {@link ListenerGenerator} unchanged, where
 * {@code virtualInbound}'s {@code use_original_dst} marks it for the proxy's per-port split.
 */
final class CapturedSidecar {

    static final String ORIGINAL_DST = "envoy.filters.listener.original_dst";

    private CapturedSidecar() {}

    /** Istio's cluster for inbound traffic no filter chain takes. */
    static final String INBOUND_PASSTHROUGH = "InboundPassthroughCluster";

    /** The source address of inbound passthrough (Istio's {@code InboundPassthroughBindIpv4}). */
    static final String INBOUND_PASSTHROUGH_SOURCE = "127.0.0.6";

    /** Adds the clusters a captured sidecar needs besides the usual ones: {@code InboundPassthroughCluster}. */
    static void clusters(Map<String, Message> clusters) {
        clusters.put(INBOUND_PASSTHROUGH, Cluster.newBuilder().setName(INBOUND_PASSTHROUGH)
                .setType(Cluster.DiscoveryType.ORIGINAL_DST).setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED)
                .setConnectTimeout(ClusterGenerator.DEFAULT_CONNECT_TIMEOUT)
                .setUpstreamBindConfig(BindConfig.newBuilder().setSourceAddress(SocketAddress.newBuilder()
                        .setAddress(INBOUND_PASSTHROUGH_SOURCE).setPortValue(0)))
                .build());
    }

    /** Istio's {@code envoy.filters.listener.original_src}. */
    static final String ORIGINAL_SRC = "envoy.filters.listener.original_src";

    /** The mark of Istio's original_src filter (its {@code OriginalSrc{Mark: 1337}}), {@code jmesh iptables -t}. */
    static final int ORIGINAL_SRC_MARK = 1337;

    /** Rewrites {@code listeners} (by name) for a sidecar captured in {@code mode} (REDIRECT or TPROXY). */
    static void apply(String mode, Map<String, Message> listeners) {
        Message inbound = listeners.get("virtualInbound");
        if (inbound instanceof Listener l) {
            Listener.Builder b = l.toBuilder().clearUseOriginalDst();
            for (FilterChain.Builder fc : b.getFilterChainsBuilderList()) {
                if (fc.getName().equals("InboundPassthroughFilterChain")) {
                    fc.clearFilters().addFilters(Filter.newBuilder().setName(ListenerGenerator.TCP_PROXY)
                            .setTypedConfig(Protos.any(TcpProxy.newBuilder().setStatPrefix(INBOUND_PASSTHROUGH)
                                    .setCluster(INBOUND_PASSTHROUGH).build())));
                }
            }
            if (l.getListenerFiltersList().stream().noneMatch(f -> f.getName().equals(ORIGINAL_DST))) {
                b.addListenerFilters(0, ListenerFilter.newBuilder().setName(ORIGINAL_DST)
                        .setTypedConfig(Protos.any(OriginalDst.getDefaultInstance())));
            }
            if (mode.equals("TPROXY")) {
                b.setTransparent(BoolValue.of(true));
                if (l.getListenerFiltersList().stream().noneMatch(f -> f.getName().equals(ORIGINAL_SRC))) {
                    b.addListenerFilters(ListenerFilter.newBuilder().setName(ORIGINAL_SRC)
                            .setTypedConfig(Protos.any(OriginalSrc.newBuilder().setMark(ORIGINAL_SRC_MARK).build())));
                }
            }
            listeners.put("virtualInbound", b.build());
        }
    }
}
