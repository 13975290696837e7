package io.jmesh.proxy.upstream;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.jmesh.proxy.config.ConfigException;
import io.netty.util.NetUtil;

/** Validation of a {@code ClusterLoadAssignment} into endpoint specs; no DNS, no I/O. */
final class Endpoints {

    private Endpoints() {
    }

    /** One {@code lb_endpoint}: an IP literal ({@link #ip} set) or a host name still to resolve. */
    record Spec(String address, int port, InetAddress ip, int weight, int priority, HealthStatus health,
                String locality, int localityWeight, com.google.protobuf.Struct transportSocketMatch) {

        Spec(String address, int port, InetAddress ip, int weight, int priority, HealthStatus health, String locality,
             int localityWeight) {
            this(address, port, ip, weight, priority, health, locality, localityWeight,
                 com.google.protobuf.Struct.getDefaultInstance());
        }

        Host toHost(InetAddress resolved, Host previous) {
            return new Host(new InetSocketAddress(resolved, port), ip == null ? address : "", weight, priority, health,
                            locality, localityWeight, previous, transportSocketMatch);
        }
    }

    /** Envoy's endpoint metadata namespace that {@code transport_socket_matches} are matched against. */
    static final String TRANSPORT_SOCKET_MATCH = "envoy.transport_socket_match";

    /** Parses every endpoint; field paths in errors are relative to the load assignment. */
    static List<Spec> parse(ClusterLoadAssignment cla, boolean requireIp, String typeName) throws ConfigException {
        List<Spec> out = new ArrayList<>();
        for (int i = 0; i < cla.getEndpointsCount(); i++) {
            LocalityLbEndpoints lle = cla.getEndpoints(i);
            String path = "endpoints[" + i + ']';
            if (lle.hasLedsClusterLocalityConfig()) {
                throw new ConfigException(path + ".leds_cluster_locality_config: set (expected: lb_endpoints; LEDS is not supported)");
            }
            int localityWeight = 0;
            if (lle.hasLoadBalancingWeight()) {
                localityWeight = lle.getLoadBalancingWeight().getValue();
                if (localityWeight < 1) {
                    throw new ConfigException(path + ".load_balancing_weight: " + localityWeight + " (expected: >= 1)");
                }
            }
            if (lle.getPriority() > 128) {
                throw new ConfigException(path + ".priority: " + Integer.toUnsignedString(lle.getPriority())
                                          + " (expected: 0..128)");
            }
            String locality = lle.hasLocality() ? lle.getLocality().getRegion() + '/' + lle.getLocality().getZone()
                                                  + '/' + lle.getLocality().getSubZone() : "";
            for (int j = 0; j < lle.getLbEndpointsCount(); j++) {
                out.add(parse(lle.getLbEndpoints(j), path + ".lb_endpoints[" + j + ']', requireIp, typeName,
                              lle.getPriority(), locality, localityWeight));
            }
        }
        return out;
    }

    private static Spec parse(LbEndpoint lb, String path, boolean requireIp, String typeName, int priority,
                              String locality, int localityWeight) throws ConfigException {
        if (!lb.hasEndpoint()) {
            throw new ConfigException(path + ".endpoint: unset (expected: an endpoint with an address)");
        }
        int weight = 1;
        if (lb.hasLoadBalancingWeight()) {
            weight = lb.getLoadBalancingWeight().getValue();
            if (weight < 1) {
                throw new ConfigException(path + ".load_balancing_weight: " + Integer.toUnsignedString(weight)
                                          + " (expected: 1.." + Integer.MAX_VALUE + ')');
            }
        }
        HealthStatus health = lb.getHealthStatus();
        if (health == HealthStatus.UNRECOGNIZED) {
            throw new ConfigException(path + ".health_status: " + lb.getHealthStatusValue()
                                      + " (expected: a HealthStatus)");
        }
        String apath = path + ".endpoint.address";
        var address = lb.getEndpoint().getAddress();
        if (!address.hasSocketAddress()) {
            throw new ConfigException(apath + ": " + address.getAddressCase()
                                      + " (expected: socket_address)");
        }
        SocketAddress sa = address.getSocketAddress();
        String spath = apath + ".socket_address";
        if (sa.getProtocol() != SocketAddress.Protocol.TCP) {
            throw new ConfigException(spath + ".protocol: " + sa.getProtocol() + " (expected: TCP)");
        }
        if (sa.hasNamedPort()) {
            throw new ConfigException(spath + ".named_port: " + sa.getNamedPort() + " (expected: port_value)");
        }
        int port = sa.getPortValue();
        if (port < 1 || port > 65535) {
            throw new ConfigException(spath + ".port_value: " + Integer.toUnsignedString(port) + " (expected: 1..65535)");
        }
        String host = sa.getAddress();
        if (host.isEmpty()) {
            throw new ConfigException(spath + ".address: \"\" (expected: an IP address or a host name)");
        }
        InetAddress ip = null;
        byte[] bytes = NetUtil.createByteArrayFromIpAddressString(host);
        if (bytes != null) {
            try {
                ip = InetAddress.getByAddress(bytes);
            } catch (UnknownHostException e) {
                throw new AssertionError(e);
            }
        } else if (requireIp) {
            throw new ConfigException(spath + ".address: " + host + " (expected: an IP address for a " + typeName
                                      + " cluster)");
        } else if (!validHostname(host)) {
            throw new ConfigException(spath + ".address: " + host + " (expected: an IP address or a host name)");
        }
        return new Spec(host, port, ip, weight, priority, health, locality, localityWeight,
                        lb.getMetadata().getFilterMetadataOrDefault(TRANSPORT_SOCKET_MATCH,
                                                                   com.google.protobuf.Struct.getDefaultInstance()));
    }

    private static boolean validHostname(String host) {
        if (host.length() > 253) {
            return false;
        }
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
                  || c == '_')) {
                return false;
            }
        }
        return true;
    }
}
