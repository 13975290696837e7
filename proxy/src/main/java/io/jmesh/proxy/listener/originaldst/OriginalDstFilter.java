package io.jmesh.proxy.listener.originaldst;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.Any;

import io.envoyproxy.envoy.extensions.filters.listener.original_dst.v3.OriginalDst;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.extension.ExtensionContext;
import io.jmesh.proxy.listener.ListenerFilter;
import io.jmesh.proxy.listener.ListenerFilterCallbacks;
import io.jmesh.proxy.listener.ListenerFilterFactory;
import io.jmesh.proxy.network.FilterStatus;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.netty.channel.Channel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.unix.RawUnixChannelOption;

/**
 * {@code envoy.filters.listener.original_dst}: reads the destination a connection had before an iptables
 * {@code REDIRECT} ({@code getsockopt(SO_ORIGINAL_DST)}, {@code IP6T_SO_ORIGINAL_DST} for IPv6) and records it as
 * the {@link ConnectionInfo#originalDestination()}, which filter chain matching ({@code destination_port}) and
 * the access log read. Needs Netty's epoll transport (Linux); on other transports, as Envoy on platforms without
 * {@code SO_ORIGINAL_DST}, the connection keeps its local address (warned once). A connection that was not
 * redirected keeps its local address too. Stateless.
 */
public final class OriginalDstFilter implements ListenerFilter {

    private static final Logger logger = LoggerFactory.getLogger(OriginalDstFilter.class);

    public static final String NAME = "envoy.filters.listener.original_dst";

    private static final int SOL_IP = 0;
    private static final int SOL_IPV6 = 41;
    private static final int SO_ORIGINAL_DST = 80;
    private static final RawUnixChannelOption ORIGINAL_DST_V4 =
            new RawUnixChannelOption("SO_ORIGINAL_DST", SOL_IP, SO_ORIGINAL_DST, 16);
    private static final RawUnixChannelOption ORIGINAL_DST_V6 =
            new RawUnixChannelOption("IP6T_SO_ORIGINAL_DST", SOL_IPV6, SO_ORIGINAL_DST, 28);
    private static volatile boolean warned;

    private final Function<Channel, InetSocketAddress> lookup;

    /**
     * A filter asking {@code lookup} for the original destination of a connection (null when there is none).
     * {@link #soOriginalDst} is the real one; tests may supply another.
     */
    public OriginalDstFilter(Function<Channel, InetSocketAddress> lookup) {
        this.lookup = lookup;
    }

    @Override
    public FilterStatus onAccept(ListenerFilterCallbacks callbacks) {
        InetSocketAddress dst = lookup.apply(callbacks.channel());
        ConnectionInfo info = callbacks.connectionInfo();
        if (dst != null && !dst.equals(info.localAddress())) {
            info.originalDestination(dst);
        }
        return FilterStatus.CONTINUE;
    }

    /**
     * {@code getsockopt(SO_ORIGINAL_DST)} on an epoll channel; null when the transport is not epoll, the socket
     * was not redirected (no conntrack entry), or the call fails.
     */
    public static InetSocketAddress soOriginalDst(Channel ch) {
        if (!(ch instanceof EpollSocketChannel)) {
            if (!warned) {
                warned = true;
                logger.warn("{}: SO_ORIGINAL_DST needs the epoll transport; {} keeps its local address", NAME,
                        ch.getClass().getSimpleName());
            }
            return null;
        }
        boolean v6 = ch.localAddress() instanceof InetSocketAddress
                && ((InetSocketAddress) ch.localAddress()).getAddress() instanceof Inet6Address;
        try {
            ByteBuffer raw = ch.config().getOption(v6 ? ORIGINAL_DST_V6 : ORIGINAL_DST_V4);
            return raw == null ? null : parseSockaddr(raw);
        } catch (RuntimeException e) {
            logger.debug("{} SO_ORIGINAL_DST: {}", ch, e.toString());
            return null;
        }
    }

    /** Parses a {@code sockaddr_in} or {@code sockaddr_in6} (family in host order, port in network order). */
    static InetSocketAddress parseSockaddr(ByteBuffer raw) {
        ByteBuffer b = raw.duplicate().order(ByteOrder.nativeOrder());
        b.position(0);
        int family = b.getShort(0) & 0xffff;
        int port = ((b.get(2) & 0xff) << 8) | (b.get(3) & 0xff);
        byte[] addr;
        if (family == 2) { // AF_INET
            addr = new byte[4];
            b.position(4);
            b.get(addr);
        } else if (family == 10) { // AF_INET6
            addr = new byte[16];
            b.position(8);
            b.get(addr);
        } else {
            return null;
        }
        try {
            return new InetSocketAddress(InetAddress.getByAddress(addr), port);
        } catch (UnknownHostException e) {
            return null;
        }
    }

    /** The factory ({@code envoy.extensions.filters.listener.original_dst.v3.OriginalDst}). */
    public static final class Factory implements ListenerFilterFactory {
        @Override
        public String name() {
            return NAME;
        }

        @Override
        public List<String> typeUrls() {
            return List.of(EnvoyTypes.typeUrl(OriginalDst.getDescriptor()));
        }

        @Override
        public Supplier<ListenerFilter> create(Any typedConfig, ExtensionContext context) throws ConfigException {
            if (!typedConfig.getTypeUrl().isEmpty() && !typedConfig.is(OriginalDst.class)) {
                throw new ConfigException("typed_config: " + typedConfig.getTypeUrl() + " (expected: "
                        + typeUrls().get(0) + ")");
            }
            OriginalDstFilter f = new OriginalDstFilter(OriginalDstFilter::soOriginalDst);
            return () -> f;
        }
    }
}
