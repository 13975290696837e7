package io.jmesh.proxy.xds;

import java.util.Map;

import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
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
 * {@link #AS_CONFIGURED} binds what has no {@code bind_to_port: false} nor {@code use_original_dst}, where
 * the listener says. Immutable.
 *
 * @param address the IP to bind instead of the listener's, or null to keep it
 * @param ports   listener port to local port (0 = any free port)
 */
public record ListenerBinding(String address, Map<Integer, Integer> ports) {

    /** Binds listeners where they say; nothing is remapped. */
    public static final ListenerBinding AS_CONFIGURED = new ListenerBinding(null, Map.of());

    public ListenerBinding {
        ports = Map.copyOf(ports);
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
