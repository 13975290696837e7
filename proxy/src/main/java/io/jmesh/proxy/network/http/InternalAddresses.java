package io.jmesh.proxy.network.http;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.jmesh.proxy.config.ConfigException;

/**
 * Whether a request is internal or external, as Envoy's connection manager decides it
 * ({@code ConnectionManagerUtility::mutateRequestHeaders}): with {@code use_remote_address} the downstream peer's
 * address must be internal; without it, {@code x-forwarded-for} must hold a single address, which must be internal
 * (no {@code x-forwarded-for}: external, even from an internal peer). An address is internal when it is in
 * {@code internal_address_config.cidr_ranges}, or, without ranges, Envoy's historical default: RFC 1918
 * ({@code 10/8}, {@code 172.16/12}, {@code 192.168/16}), {@code 127.0.0.1}, {@code fc00::/7} and {@code ::1}.
 * Immutable; safe on any thread.
 */
final class InternalAddresses {

    private static final InternalAddresses DEFAULT = new InternalAddresses(null);

    /** The configured ranges ({@code [prefix bytes, bits]}), or null for Envoy's default set. */
    private final List<Object[]> ranges;

    private InternalAddresses(List<Object[]> ranges) {
        this.ranges = ranges;
    }

    /** The HCM's {@code internal_address_config}; {@code unix_sockets} is accepted (we have no UDS listeners). */
    static InternalAddresses of(HttpConnectionManager proto, String path) throws ConfigException {
        if (!proto.hasInternalAddressConfig() || proto.getInternalAddressConfig().getCidrRangesCount() == 0) {
            return DEFAULT;
        }
        List<Object[]> ranges = new ArrayList<>();
        List<CidrRange> list = proto.getInternalAddressConfig().getCidrRangesList();
        for (int i = 0; i < list.size(); i++) {
            String p = path + ".internal_address_config.cidr_ranges[" + i + "]";
            String a = list.get(i).getAddressPrefix();
            byte[] bytes = literal(a);
            if (bytes == null) {
                throw new ConfigException(p + ".address_prefix: \"" + a + "\" (expected: an IPv4 or IPv6 address)");
            }
            int bits = list.get(i).hasPrefixLen() ? list.get(i).getPrefixLen().getValue() : bytes.length * 8;
            if (bits > bytes.length * 8) {
                throw new ConfigException(p + ".prefix_len: " + bits + " (expected: <= " + bytes.length * 8 + ")");
            }
            ranges.add(new Object[] { bytes, bits });
        }
        return new InternalAddresses(List.copyOf(ranges));
    }

    /**
     * Whether the request is internal. {@code xff} is its {@code x-forwarded-for} after this proxy appended to it (or
     * null); {@code remote} the downstream peer.
     */
    boolean isInternalRequest(boolean useRemoteAddress, String xff, InetSocketAddress remote) {
        if (useRemoteAddress) {
            return remote != null && remote.getAddress() != null && isInternal(remote.getAddress().getAddress());
        }
        if (xff == null || xff.indexOf(',') >= 0) {
            return false; // no address, or not a single one
        }
        byte[] a = literal(xff.trim());
        return a != null && isInternal(a);
    }

    private boolean isInternal(byte[] a) {
        if (ranges != null) {
            for (Object[] r : ranges) {
                if (contains((byte[]) r[0], (Integer) r[1], a)) {
                    return true;
                }
            }
            return false;
        }
        if (a.length == 4) {
            int b0 = a[0] & 0xff;
            int b1 = a[1] & 0xff;
            return b0 == 10 || b0 == 192 && b1 == 168 || b0 == 172 && b1 >= 16 && b1 <= 31
                   || b0 == 127 && a[1] == 0 && a[2] == 0 && a[3] == 1;
        }
        if ((a[0] & 0xfe) == 0xfc) {
            return true; // fc00::/7, RFC 4193
        }
        for (int i = 0; i < 15; i++) {
            if (a[i] != 0) {
                return false;
            }
        }
        return a[15] == 1; // ::1
    }

    private static boolean contains(byte[] prefix, int bits, byte[] a) {
        if (a.length != prefix.length) {
            return false;
        }
        int full = bits / 8;
        for (int i = 0; i < full; i++) {
            if (a[i] != prefix[i]) {
                return false;
            }
        }
        int rest = bits % 8;
        if (rest == 0) {
            return true;
        }
        int mask = (0xff << (8 - rest)) & 0xff;
        return (a[full] & mask) == (prefix[full] & mask);
    }

    /** The bytes of an IPv4 or IPv6 literal, or null for anything else (never a DNS lookup). */
    private static byte[] literal(String a) {
        if (a.isEmpty()) {
            return null;
        }
        boolean colon = a.indexOf(':') >= 0;
        String s = colon && a.startsWith("[") && a.endsWith("]") ? a.substring(1, a.length() - 1) : a;
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            boolean ok = ch == '.' || ch == ':' || ch >= '0' && ch <= '9'
                         || colon && (ch >= 'a' && ch <= 'f' || ch >= 'A' && ch <= 'F');
            if (!ok) {
                return null;
            }
        }
        try {
            return InetAddress.getByName(s).getAddress();
        } catch (UnknownHostException e) {
            return null;
        }
    }
}
