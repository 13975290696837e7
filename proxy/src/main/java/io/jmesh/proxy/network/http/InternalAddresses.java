package io.jmesh.proxy.network.http;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

import com.google.protobuf.UInt32Value;

import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.internal.Cidr;

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

    private static final InternalAddresses DEFAULT = new InternalAddresses(List.of(range("10.0.0.0", 8),
            range("172.16.0.0", 12), range("192.168.0.0", 16), range("127.0.0.1", 32), range("fc00::", 7),
            range("::1", 128)));

    private final List<Cidr> ranges;

    private InternalAddresses(List<Cidr> ranges) {
        this.ranges = ranges;
    }

    /** The HCM's {@code internal_address_config}; {@code unix_sockets} is accepted (we have no UDS listeners). */
    static InternalAddresses of(HttpConnectionManager proto, String path) throws ConfigException {
        if (!proto.hasInternalAddressConfig() || proto.getInternalAddressConfig().getCidrRangesCount() == 0) {
            return DEFAULT;
        }
        List<Cidr> ranges = new ArrayList<>();
        List<CidrRange> list = proto.getInternalAddressConfig().getCidrRangesList();
        for (int i = 0; i < list.size(); i++) {
            ranges.add(Cidr.from(list.get(i), path + ".internal_address_config.cidr_ranges[" + i + "]"));
        }
        return new InternalAddresses(List.copyOf(ranges));
    }

    /**
     * Whether the request is internal. {@code xff} is its {@code x-forwarded-for} after this proxy appended to it (or
     * null); {@code remote} the downstream peer.
     */
    boolean isInternalRequest(boolean useRemoteAddress, String xff, InetSocketAddress remote) {
        if (useRemoteAddress) {
            return remote != null && isInternal(remote.getAddress());
        }
        if (xff == null || xff.indexOf(',') >= 0) {
            return false; // no address, or not a single one
        }
        String a = xff.trim();
        if (a.indexOf(':') >= 0 && a.startsWith("[") && a.endsWith("]")) { // a bracketed IPv6 address
            a = a.substring(1, a.length() - 1);
        }
        return isInternal(Cidr.literal(a));
    }

    private boolean isInternal(InetAddress a) {
        for (Cidr r : ranges) {
            if (r.contains(a)) {
                return true;
            }
        }
        return false;
    }

    private static Cidr range(String prefix, int bits) {
        try {
            return Cidr.from(CidrRange.newBuilder().setAddressPrefix(prefix).setPrefixLen(UInt32Value.of(bits)).build(),
                    "internal address");
        } catch (ConfigException e) {
            throw new IllegalStateException(e);
        }
    }
}
