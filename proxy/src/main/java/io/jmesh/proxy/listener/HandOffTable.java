package io.jmesh.proxy.listener;

import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;

import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.collection.IntObjectMap;

/**
 * Listeners by configured address, and those on {@code 0.0.0.0} by port: where a {@code use_original_dst} listener
 * hands a connection ({@link #target}, Envoy's {@code getBalancedHandlerByAddress}). Built once per listener set so
 * that the per-connection lookup parses and allocates nothing; immutable.
 */
public final class HandOffTable {

    public static final HandOffTable EMPTY = new HandOffTable(Map.of(), new IntObjectHashMap<>());

    private final Map<InetSocketAddress, ProxyListener> exact;
    private final IntObjectMap<ProxyListener> anyAddress;

    private HandOffTable(Map<InetSocketAddress, ProxyListener> exact, IntObjectMap<ProxyListener> anyAddress) {
        this.exact = exact;
        this.anyAddress = anyAddress;
    }

    /** The table of {@code listeners}; of two on one address (or on {@code 0.0.0.0} with one port), the first. */
    public static HandOffTable of(Iterable<ProxyListener> listeners) {
        Map<InetSocketAddress, ProxyListener> exact = new HashMap<>();
        IntObjectHashMap<ProxyListener> anyAddress = new IntObjectHashMap<>();
        for (ProxyListener l : listeners) {
            InetSocketAddress address = l.configuredAddress();
            exact.putIfAbsent(address, l);
            if (address.getAddress() instanceof Inet4Address ip && ip.isAnyLocalAddress()
                    && !anyAddress.containsKey(address.getPort())) {
                anyAddress.put(address.getPort(), l);
            }
        }
        return new HandOffTable(Map.copyOf(exact), anyAddress);
    }

    /**
     * The listener configured on exactly {@code destination}, else the one on {@code 0.0.0.0} with its port; null for
     * none. Any thread; allocates nothing.
     */
    public ProxyListener target(InetSocketAddress destination) {
        ProxyListener l = exact.get(destination);
        return l != null ? l : anyAddress.get(destination.getPort());
    }
}
