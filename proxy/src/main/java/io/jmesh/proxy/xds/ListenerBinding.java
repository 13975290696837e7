package io.jmesh.proxy.xds;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TrafficDirection;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;

/**
 * Where a proxy without iptables binds the listeners it receives over LDS ("local mode").
 *
 * <p>In a pod, Istio's sidecar listeners rely on traffic redirection: {@code virtualOutbound} (15001) and
 * {@code virtualInbound} (15006) use {@code use_original_dst}, and the per-port outbound listeners
 * ({@code 0.0.0.0_9080}) have {@code bind_to_port: false}. On a machine without redirection the rules are:
 * <ul>
 *   <li>a listener with {@code use_original_dst} is accepted (and shown in /config_dump) but not bound;</li>
 *   <li>a listener with {@code bind_to_port: false} is bound only if its port is in {@link #ports()};</li>
 *   <li>every other listener is bound;</li>
 *   <li>a bound listener uses {@link #address()} instead of its own IP when set, and the port
 *       {@code ports().get(port)} instead of its own when mapped (0 = any free port, kept across updates of
 *       the same listener).</li>
 * </ul>
 * and, with an {@link #inboundAddress()}, the inbound side as Istio's per-port inbound listeners used to be:
 * <ul>
 *   <li>an {@code INBOUND} listener with {@code use_original_dst} ({@code virtualInbound}) is split: each of its
 *       filter chains that match a {@code destination_port} P become one listener
 *       {@code <inboundAddress>_<P>} bound on {@code inboundAddress:P} with those chains (their other match
 *       criteria kept) and the listener's listener filters but {@code original_dst}. The workload
 *       registers {@code inboundAddress} as its address (WorkloadEntry {@code address}), listens itself on
 *       {@code 127.0.0.1:P}, and callers reach it through its proxy, e.g. with one loopback IP per workload
 *       ({@code 127.0.0.11}, {@code 127.0.0.12}, ...: Linux routes all of 127.0.0.0/8 to the loopback).</li>
 * </ul>
 * {@link #AS_CONFIGURED} binds what has no {@code bind_to_port: false} nor {@code use_original_dst}, where
 * the listener says.
 *
 * <p>{@link #CAPTURED} is for a proxy whose traffic iptables redirects ({@code jmesh iptables}; Istio's
 * {@code INTERCEPTION_MODE} REDIRECT or TPROXY), as Envoy in a pod: every listener is taken as configured; those with
 * {@code use_original_dst} ({@code virtualOutbound} on 15001) are bound and hand each redirected connection to the
 * listener of its original destination; those with {@code bind_to_port: false} ({@code 0.0.0.0_9080}) are not bound
 * and receive such hand-offs only (see {@link #binds}). Immutable.
 *
 * @param address        the IP to bind instead of the listener's, or null to keep it
 * @param ports          listener port to local port (0 = any free port)
 * @param inboundAddress the workload's own IP on which to bind the inbound ports, or null not to bind them
 * @param captured       whether iptables redirects this proxy's traffic ({@link #CAPTURED}); then the other
 *                       fields are unused
 */
public record ListenerBinding(String address, Map<Integer, Integer> ports, String inboundAddress, boolean captured) {

    /** Binds listeners where they say; nothing is remapped. */
    public static final ListenerBinding AS_CONFIGURED = new ListenerBinding(null, Map.of(), null);

    /** Binds listeners as in a pod with iptables capture (see the class comment). */
    public static final ListenerBinding CAPTURED = new ListenerBinding(null, Map.of(), null, true);

    public ListenerBinding {
        ports = Map.copyOf(ports);
    }

    /** A binding without iptables capture. */
    public ListenerBinding(String address, Map<Integer, Integer> ports, String inboundAddress) {
        this(address, ports, inboundAddress, false);
    }

    /** A binding without inbound listeners. */
    public ListenerBinding(String address, Map<Integer, Integer> ports) {
        this(address, ports, null);
    }

    /**
     * Whether a listener returned by {@link #expand} gets a socket: always, except a {@code bind_to_port: false}
     * listener of a {@linkplain #captured() captured} proxy, which only takes connections handed off to it.
     */
    public boolean binds(Listener effective) {
        return !captured || !effective.hasBindToPort() || effective.getBindToPort().getValue();
    }

    /**
     * Returns the listeners to bind for {@code l}, each with a unique name (that of {@code l} unless it is split
     * into inbound ports): none, the listener rewritten by {@link #apply}, or its per-port inbound listeners.
     */
    public List<Listener> expand(Listener l) {
        if (captured) {
            return List.of(l);
        }
        boolean originalDst = l.hasUseOriginalDst() && l.getUseOriginalDst().getValue();
        if (originalDst && inboundAddress != null && l.getTrafficDirection() == TrafficDirection.INBOUND) {
            // One listener per destination port, with every chain of that port (a PeerAuthentication PERMISSIVE
            // port has several, told apart by transport protocol and ALPN) and the listener filters
            // (tls_inspector) that select among them.
            java.util.Map<Integer, Listener.Builder> byPort = new java.util.LinkedHashMap<>();
            for (FilterChain fc : l.getFilterChainsList()) {
                if (!fc.hasFilterChainMatch() || !fc.getFilterChainMatch().hasDestinationPort()) {
                    continue;
                }
                int port = fc.getFilterChainMatch().getDestinationPort().getValue();
                Listener.Builder b = byPort.computeIfAbsent(port, p -> {
                    Listener.Builder n = Listener.newBuilder()
                            .setName(inboundAddress + "_" + p)
                            .setAddress(Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
                                    .setAddress(inboundAddress).setPortValue(p)))
                            .setTrafficDirection(TrafficDirection.INBOUND);
                    for (var lf : l.getListenerFiltersList()) {
                        if (!lf.getName().equals("envoy.filters.listener.original_dst")) {
                            n.addListenerFilters(lf);
                        }
                    }
                    return n;
                });
                io.envoyproxy.envoy.config.listener.v3.FilterChainMatch rest =
                        fc.getFilterChainMatch().toBuilder().clearDestinationPort().build();
                FilterChain.Builder chain = fc.toBuilder();
                if (rest.equals(io.envoyproxy.envoy.config.listener.v3.FilterChainMatch.getDefaultInstance())) {
                    chain.clearFilterChainMatch();
                } else {
                    chain.setFilterChainMatch(rest);
                }
                b.addFilterChains(chain);
            }
            List<Listener> out = new ArrayList<>();
            byPort.values().forEach(b -> out.add(b.build()));
            return out;
        }
        Listener one = apply(l);
        return one == null ? List.of() : List.of(one);
    }

    /**
     * Returns the listener to bind (its address rewritten per these rules), or null if {@code l} is not to be
     * bound here.
     */
    public Listener apply(Listener l) {
        if (l.hasUseOriginalDst() && l.getUseOriginalDst().getValue()) {
            return null;
        }
        if (!l.hasAddress() || !l.getAddress().hasSocketAddress()) {
            return l; // validation reports it
        }
        SocketAddress sa = l.getAddress().getSocketAddress();
        Integer mapped = ports.get(sa.getPortValue());
        boolean bindToPort = !l.hasBindToPort() || l.getBindToPort().getValue();
        if (!bindToPort && mapped == null) {
            return null;
        }
        SocketAddress.Builder nsa = sa.toBuilder();
        if (address != null) {
            nsa.setAddress(address);
        }
        if (mapped != null) {
            nsa.setPortValue(mapped);
        }
        return l.toBuilder().clearBindToPort().setAddress(Address.newBuilder().setSocketAddress(nsa)).build();
    }
}
