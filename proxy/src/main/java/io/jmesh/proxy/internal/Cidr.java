package io.jmesh.proxy.internal;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.jmesh.proxy.config.ConfigException;

/**
 * A compiled {@code CidrRange} (RBAC's IP principals and permissions, the connection manager's
 * {@code internal_address_config}). An IPv4 range also contains the IPv4-mapped IPv6 form of its addresses.
 * Immutable; safe on any thread.
 */
public final class Cidr {
    private final byte[] prefix;
    private final int bits;

    private Cidr(byte[] prefix, int bits) {
        this.prefix = prefix;
        this.bits = bits;
    }

    /** Validates {@code range} at {@code path} (errors name {@code path.address_prefix} or {@code path.prefix_len}). */
    public static Cidr from(CidrRange range, String path) throws ConfigException {
        String a = range.getAddressPrefix();
        InetAddress address = literal(a);
        if (address == null) {
            throw new ConfigException(path + ".address_prefix: \"" + a + "\" (expected: an IPv4 or IPv6 address)");
        }
        byte[] bytes = address.getAddress();
        int bits = range.hasPrefixLen() ? range.getPrefixLen().getValue() : bytes.length * 8;
        if (bits > bytes.length * 8) {
            throw new ConfigException(path + ".prefix_len: " + bits + " (expected: <= " + bytes.length * 8 + ")");
        }
        return new Cidr(bytes, bits);
    }

    /** The address an IPv4 or IPv6 literal names, or null for anything else: never a DNS lookup. */
    public static InetAddress literal(String a) {
        if (a.isEmpty()) {
            return null;
        }
        boolean colon = a.indexOf(':') >= 0;
        for (int i = 0; i < a.length(); i++) {
            char ch = a.charAt(i);
            boolean ok = ch == '.' || ch == ':' || (ch >= '0' && ch <= '9')
                         || (colon && ((ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')));
            if (!ok) {
                return null;
            }
        }
        try {
            return InetAddress.getByName(a); // a literal: no lookup
        } catch (UnknownHostException e) {
            return null;
        }
    }

    /** Whether the address of {@code address} is in the range; false for null or an unresolved address. */
    public boolean contains(InetSocketAddress address) {
        return address != null && contains(address.getAddress());
    }

    /** Whether {@code address} is in the range; false for null. */
    public boolean contains(InetAddress address) {
        if (address == null) {
            return false;
        }
        byte[] b = address.getAddress();
        if (b.length != prefix.length) {
            if (b.length == 16 && prefix.length == 4 && isMappedV4(b)) {
                b = Arrays.copyOfRange(b, 12, 16);
            } else {
                return false;
            }
        }
        int full = bits / 8;
        for (int i = 0; i < full; i++) {
            if (b[i] != prefix[i]) {
                return false;
            }
        }
        int rest = bits % 8;
        if (rest == 0) {
            return true;
        }
        int mask = (0xff << (8 - rest)) & 0xff;
        return (b[full] & mask) == (prefix[full] & mask);
    }

    private static boolean isMappedV4(byte[] b) {
        for (int i = 0; i < 10; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return b[10] == (byte) 0xff && b[11] == (byte) 0xff;
    }
}
