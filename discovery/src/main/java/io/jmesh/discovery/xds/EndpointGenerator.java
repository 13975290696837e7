package io.jmesh.discovery.xds;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.core.v3.Locality;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.jmesh.discovery.config.DestinationRule;
import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.model.ServicePort;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Builds EDS: one {@link ClusterLoadAssignment} per EDS cluster, endpoints grouped by locality
 * ({@code region/zone/subzone}); each locality carries a locality and a weight, the sum of its
 * endpoints' weights (never 0: gRPC's client ignores localities without a weight).
 */
final class EndpointGenerator {

    /** The endpoint label that says a workload has a sidecar (Istio's {@code security.istio.io/tlsMode}). */
    static final String TLS_MODE_LABEL = "security.istio.io/tlsMode";
    /** The key of the transport socket match in endpoint metadata and in clusters' matches. */
    static final String TLS_MODE_KEY = "tlsMode";
    /** Envoy's metadata namespace for transport socket matches. */
    static final String TRANSPORT_SOCKET_MATCH = "envoy.transport_socket_match";

    private EndpointGenerator() {}

    /**
     * Returns whether a client may use mTLS to endpoint {@code e} of {@code s} (Istio's EDS {@code tlsMode}):
     * the endpoint says it has a sidecar ({@code security.istio.io/tlsMode: istio}) and the PeerAuthentication
     * in effect for its workload port is not DISABLE.
     */
    static boolean mtlsReady(MeshSnapshot snapshot, Service s, Endpoint e) {
        return "istio".equals(e.labels().get(TLS_MODE_LABEL))
                && MtlsPolicy.of(snapshot, s.namespace(), e.labels()).mode(e.port())
                        != io.jmesh.discovery.config.PeerAuthentication.Mode.DISABLE;
    }

    static Map<String, Message> generate(GenerationContext ctx) {
        Map<String, Message> out = new TreeMap<>();
        for (Service s : ctx.services) {
            if (!s.resolution().equals("STATIC")) {
                continue;
            }
            DestinationRule dr = ctx.destinationRule(s.hostname());
            for (ServicePort port : s.ports()) {
                String name = ClusterGenerator.outboundName(port.number(), null, s.hostname());
                out.put(name, assignment(name, ctx.snapshot, s, port, null, dr));
                if (dr != null) {
                    for (DestinationRule.Subset subset : dr.subsets()) {
                        String sn = ClusterGenerator.outboundName(port.number(), subset.name(), s.hostname());
                        out.put(sn, assignment(sn, ctx.snapshot, s, port, subset.name(), dr));
                    }
                }
            }
        }
        return out;
    }

    static ClusterLoadAssignment assignment(String clusterName, MeshSnapshot snapshot, Service s, ServicePort port,
                                            String subset, DestinationRule dr) {
        Map<String, String> selector = Map.of();
        if (subset != null && dr != null) {
            for (DestinationRule.Subset ss : dr.subsets()) {
                if (ss.name().equals(subset)) {
                    selector = ss.labels();
                }
            }
        }
        Map<String, LocalityLbEndpoints.Builder> byLocality = new LinkedHashMap<>();
        Map<String, Integer> weights = new LinkedHashMap<>();
        List<Endpoint> endpoints = snapshot.endpoints(s.hostname(), port.name());
        for (Endpoint e : endpoints) {
            if (!e.matches(selector)) {
                continue;
            }
            LocalityLbEndpoints.Builder l = byLocality.computeIfAbsent(e.locality(),
                    k -> LocalityLbEndpoints.newBuilder().setLocality(locality(k)));
            LbEndpoint.Builder lb = LbEndpoint.newBuilder()
                    .setEndpoint(io.envoyproxy.envoy.config.endpoint.v3.Endpoint.newBuilder()
                            .setAddress(ClusterGenerator.address(e.address(), e.port())))
                    .setLoadBalancingWeight(Protos.u32(e.weight()));
            if (mtlsReady(snapshot, s, e)) {
                lb.setMetadata(io.envoyproxy.envoy.config.core.v3.Metadata.newBuilder().putFilterMetadata(
                        TRANSPORT_SOCKET_MATCH, com.google.protobuf.Struct.newBuilder().putFields(TLS_MODE_KEY,
                                com.google.protobuf.Value.newBuilder().setStringValue("istio").build()).build()));
            }
            l.addLbEndpoints(lb);
            weights.merge(e.locality(), e.weight(), Integer::sum);
        }
        ClusterLoadAssignment.Builder cla = ClusterLoadAssignment.newBuilder().setClusterName(clusterName);
        for (Map.Entry<String, LocalityLbEndpoints.Builder> e : byLocality.entrySet()) {
            cla.addEndpoints(e.getValue().setLoadBalancingWeight(Protos.u32(Math.max(1, weights.get(e.getKey())))));
        }
        return cla.build();
    }

    private static Locality locality(String l) {
        String[] parts = l.isEmpty() ? new String[0] : l.split("/");
        Locality.Builder b = Locality.newBuilder();
        if (parts.length > 0) {
            b.setRegion(parts[0]);
        }
        if (parts.length > 1) {
            b.setZone(parts[1]);
        }
        if (parts.length > 2) {
            b.setSubZone(parts[2]);
        }
        return b.build();
    }
}
