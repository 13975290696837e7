package io.jmesh.proxy.listener.proxyprotocol;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;

import io.envoyproxy.envoy.config.core.v3.ProxyProtocolConfig;
import io.envoyproxy.envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.extension.ExtensionContext;
import io.jmesh.proxy.listener.ListenerFilter;
import io.jmesh.proxy.listener.ListenerFilterCallbacks;
import io.jmesh.proxy.listener.ListenerFilterFactory;
import io.jmesh.proxy.network.FilterStatus;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.netty.buffer.ByteBuf;

/**
 * {@code envoy.filters.listener.proxy_protocol}: reads and removes the PROXY protocol header that a load balancer
 * puts in front of a connection (<a href="https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt">HAProxy's
 * spec</a>), and records the client's address as the connection's remote address and the address it dialled as
 * its {@link ConnectionInfo#originalDestination()}.
 *
 * <pre>
 * v1: "PROXY" SP ("TCP4" | "TCP6") SP src SP dst SP sport SP dport CRLF     (at most 107 bytes)
 *     "PROXY" SP "UNKNOWN" ... CRLF                                          (addresses kept)
 * v2: \r\n\r\n\0\r\nQUIT\n | ver_cmd(1: 0x20 LOCAL, 0x21 PROXY) | fam(1: 0x11 TCP4, 0x21 TCP6) | len(2)
 *     | src addr(4|16) | dst addr(4|16) | src port(2) | dst port(2) | TLVs (skipped)
 * </pre>
 *
 * A LOCAL command, an UNSPEC family or {@code UNKNOWN} keep the socket's addresses. A connection that starts
 * without a header is closed, unless {@code allow_requests_without_proxy_protocol}; a version in
 * {@code disallowed_versions} is closed. {@code rules} (TLVs into dynamic metadata) and
 * {@code pass_through_tlvs} are refused. Stateless.
 */
public final class ProxyProtocolFilter implements ListenerFilter {

    private static final Logger logger = LoggerFactory.getLogger(ProxyProtocolFilter.class);

    public static final String NAME = "envoy.filters.listener.proxy_protocol";

    static final int V1_MAX = 107;
    static final int V2_HEADER = 16;
    static final int V2_MAX = V2_HEADER + 65535;
    private static final byte[] V1_PREFIX = "PROXY ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] V2_SIGNATURE = {
        0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
    };

    private final boolean allowWithout;
    private final boolean v1Allowed;
    private final boolean v2Allowed;

    ProxyProtocolFilter(boolean allowWithout, boolean v1Allowed, boolean v2Allowed) {
        this.allowWithout = allowWithout;
        this.v1Allowed = v1Allowed;
        this.v2Allowed = v2Allowed;
    }

    @Override
    public FilterStatus onAccept(ListenerFilterCallbacks callbacks) {
        return FilterStatus.STOP_ITERATION;
    }

    @Override
    public int maxReadBytes() {
        return V2_MAX;
    }

    @Override
    public FilterStatus onData(ListenerFilterCallbacks cb, ByteBuf in) {
        int n = in.readableBytes();
        int v1 = prefix(in, V1_PREFIX);
        int v2 = prefix(in, V2_SIGNATURE);
        if (v1 < 0 && v2 < 0) {
            if (allowWithout) {
                return FilterStatus.CONTINUE;
            }
            return reject(cb, "no PROXY protocol header");
        }
        if (v1 == 0 || v2 == 0) {
            return FilterStatus.STOP_ITERATION; // a prefix of one of them so far
        }
        if (v1 > 0) {
            return v1Allowed ? readV1(cb, in, n) : reject(cb, "PROXY protocol v1 is disallowed");
        }
        return v2Allowed ? readV2(cb, in, n) : reject(cb, "PROXY protocol v2 is disallowed");
    }

    /** 1 when {@code in} starts with {@code p}, 0 when it is a prefix of it so far, -1 otherwise. */
    private static int prefix(ByteBuf in, byte[] p) {
        int n = Math.min(in.readableBytes(), p.length);
        for (int i = 0; i < n; i++) {
            if (in.getByte(in.readerIndex() + i) != p[i]) {
                return -1;
            }
        }
        return n == p.length ? 1 : 0;
    }

    private FilterStatus readV1(ListenerFilterCallbacks cb, ByteBuf in, int n) {
        int lf = -1;
        for (int i = 0; i < Math.min(n, V1_MAX); i++) {
            if (in.getByte(in.readerIndex() + i) == '\n') {
                lf = i;
                break;
            }
        }
        if (lf < 0) {
            return n >= V1_MAX ? reject(cb, "PROXY v1 header longer than " + V1_MAX + " bytes")
                    : FilterStatus.STOP_ITERATION;
        }
        if (lf == 0 || in.getByte(in.readerIndex() + lf - 1) != '\r') {
            return reject(cb, "PROXY v1 header without CRLF");
        }
        String line = in.toString(in.readerIndex(), lf - 1, StandardCharsets.US_ASCII);
        String[] f = line.split(" ", -1);
        if (f.length >= 2 && f[1].equals("UNKNOWN")) {
            cb.consume(lf + 1);
            return FilterStatus.CONTINUE;
        }
        if (f.length != 6 || !(f[1].equals("TCP4") || f[1].equals("TCP6"))) {
            return reject(cb, "bad PROXY v1 header");
        }
        InetSocketAddress src;
        InetSocketAddress dst;
        try {
            src = new InetSocketAddress(literal(f[2], f[1].equals("TCP6")), port(f[4]));
            dst = new InetSocketAddress(literal(f[3], f[1].equals("TCP6")), port(f[5]));
        } catch (IllegalArgumentException | UnknownHostException e) {
            return reject(cb, "bad PROXY v1 address: " + e.getMessage());
        }
        cb.consume(lf + 1);
        cb.connectionInfo().remoteAddress(src).originalDestination(dst);
        return FilterStatus.CONTINUE;
    }

    private static InetAddress literal(String s, boolean v6) throws UnknownHostException {
        boolean looksV6 = s.indexOf(':') >= 0;
        if (s.isEmpty() || looksV6 != v6 || !(v6 ? s.matches("[0-9a-fA-F:.]+") : s.matches("[0-9.]+"))) {
            throw new IllegalArgumentException(s);
        }
        return InetAddress.getByName(s); // a literal: no DNS look-up
    }

    private static int port(String s) {
        if (!s.matches("[0-9]{1,5}")) {
            throw new IllegalArgumentException(s);
        }
        int p = Integer.parseInt(s);
        if (p > 65535) {
            throw new IllegalArgumentException(s);
        }
        return p;
    }

    private FilterStatus readV2(ListenerFilterCallbacks cb, ByteBuf in, int n) {
        if (n < V2_HEADER) {
            return FilterStatus.STOP_ITERATION;
        }
        int base = in.readerIndex();
        int verCmd = in.getUnsignedByte(base + 12);
        int fam = in.getUnsignedByte(base + 13);
        int len = in.getUnsignedShort(base + 14);
        if ((verCmd >> 4) != 2 || (verCmd & 0xf) > 1) {
            return reject(cb, "bad PROXY v2 version/command 0x" + Integer.toHexString(verCmd));
        }
        if (n < V2_HEADER + len) {
            return FilterStatus.STOP_ITERATION;
        }
        boolean proxy = (verCmd & 0xf) == 1;
        int af = fam >> 4;
        int p = base + V2_HEADER;
        if (proxy && (af == 1 || af == 2)) {
            int alen = af == 1 ? 4 : 16;
            if (len < 2 * alen + 4) {
                return reject(cb, "PROXY v2 address block of " + len + " bytes (expected: >= " + (2 * alen + 4) + ")");
            }
            byte[] s = new byte[alen];
            byte[] d = new byte[alen];
            in.getBytes(p, s);
            in.getBytes(p + alen, d);
            int sport = in.getUnsignedShort(p + 2 * alen);
            int dport = in.getUnsignedShort(p + 2 * alen + 2);
            try {
                cb.connectionInfo()
                        .remoteAddress(new InetSocketAddress(InetAddress.getByAddress(s), sport))
                        .originalDestination(new InetSocketAddress(InetAddress.getByAddress(d), dport));
            } catch (UnknownHostException e) {
                return reject(cb, "bad PROXY v2 address");
            }
        }
        cb.consume(V2_HEADER + len);
        return FilterStatus.CONTINUE;
    }

    private static FilterStatus reject(ListenerFilterCallbacks cb, String why) {
        logger.debug("{} closing: {}", cb.channel(), why);
        cb.channel().close();
        return FilterStatus.STOP_ITERATION;
    }

    /** The factory ({@code envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol}). */
    public static final class Factory implements ListenerFilterFactory {
        @Override
        public String name() {
            return NAME;
        }

        @Override
        public List<String> typeUrls() {
            return List.of(EnvoyTypes.typeUrl(ProxyProtocol.getDescriptor()));
        }

        @Override
        public Supplier<ListenerFilter> create(Any typedConfig, ExtensionContext context) throws ConfigException {
            ProxyProtocol cfg = ProxyProtocol.getDefaultInstance();
            if (!typedConfig.getTypeUrl().isEmpty()) {
                try {
                    cfg = typedConfig.unpack(ProxyProtocol.class);
                } catch (InvalidProtocolBufferException e) {
                    throw new ConfigException("typed_config: " + typedConfig.getTypeUrl() + " (expected: "
                            + typeUrls().get(0) + ")", e);
                }
            }
            if (cfg.getRulesCount() > 0) {
                throw new ConfigException("typed_config.rules: " + cfg.getRulesCount()
                        + " rules (expected: none; TLVs into dynamic metadata are not supported)");
            }
            if (cfg.hasPassThroughTlvs()) {
                throw new ConfigException("typed_config.pass_through_tlvs: set (expected: unset; not supported)");
            }
            boolean v1 = !cfg.getDisallowedVersionsList().contains(ProxyProtocolConfig.Version.V1);
            boolean v2 = !cfg.getDisallowedVersionsList().contains(ProxyProtocolConfig.Version.V2);
            ProxyProtocolFilter f = new ProxyProtocolFilter(cfg.getAllowRequestsWithoutProxyProtocol(), v1, v2);
            return () -> f;
        }
    }
}
