package io.jmesh.proxy.listener.originalsrc;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.function.Supplier;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;

import io.envoyproxy.envoy.extensions.filters.listener.original_src.v3.OriginalSrc;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.extension.ExtensionContext;
import io.jmesh.proxy.listener.ListenerFilter;
import io.jmesh.proxy.listener.ListenerFilterCallbacks;
import io.jmesh.proxy.listener.ListenerFilterFactory;
import io.jmesh.proxy.network.FilterStatus;
import io.jmesh.proxy.stream.ConnectionInfo;

/**
 * {@code envoy.filters.listener.original_src}: the upstream connection of a downstream connection comes from the
 * downstream's own address, as Envoy's filter (Istio puts it on {@code virtualInbound} in TPROXY mode, with mark
 * 1337). It records {@link ConnectionInfo#upstreamSource()} (the remote IP, and its port with {@code bind_port}) and
 * {@link ConnectionInfo#upstreamMark()}; the upstream socket then binds that address with {@code IP_TRANSPARENT} and
 * carries the mark ({@code SO_MARK}), which needs {@code CAP_NET_ADMIN} and the policy route of {@code jmesh iptables
 * -m TPROXY} so that the answers come back to the proxy. Applies to {@code tcp_proxy}, whose upstream connection is
 * the downstream's own; HTTP and RPC upstream connections are pooled across downstream connections and keep the
 * cluster's source address. Stateless.
 */
public final class OriginalSrcFilter implements ListenerFilter {

    public static final String NAME = "envoy.filters.listener.original_src";

    private final boolean bindPort;
    private final int mark;

    public OriginalSrcFilter(boolean bindPort, int mark) {
        this.bindPort = bindPort;
        this.mark = mark;
    }

    @Override
    public FilterStatus onAccept(ListenerFilterCallbacks callbacks) {
        ConnectionInfo info = callbacks.connectionInfo();
        InetSocketAddress remote = info.remoteAddress();
        if (remote != null) {
            info.upstreamSource(new InetSocketAddress(remote.getAddress(), bindPort ? remote.getPort() : 0), mark);
        }
        return FilterStatus.CONTINUE;
    }

    /** The factory ({@code envoy.extensions.filters.listener.original_src.v3.OriginalSrc}). */
    public static final class Factory implements ListenerFilterFactory {
        @Override
        public String name() {
            return NAME;
        }

        @Override
        public List<String> typeUrls() {
            return List.of(EnvoyTypes.typeUrl(OriginalSrc.getDescriptor()));
        }

        @Override
        public Supplier<ListenerFilter> create(Any typedConfig, ExtensionContext context) throws ConfigException {
            OriginalSrc config = OriginalSrc.getDefaultInstance();
            if (!typedConfig.getTypeUrl().isEmpty()) {
                if (!typedConfig.is(OriginalSrc.class)) {
                    throw new ConfigException("typed_config: " + typedConfig.getTypeUrl() + " (expected: "
                            + typeUrls().get(0) + ")");
                }
                try {
                    config = typedConfig.unpack(OriginalSrc.class);
                } catch (InvalidProtocolBufferException e) {
                    throw new ConfigException("typed_config: " + e.getMessage() + " (expected: an OriginalSrc)");
                }
            }
            OriginalSrcFilter f = new OriginalSrcFilter(config.getBindPort(), config.getMark());
            return () -> f;
        }
    }
}
