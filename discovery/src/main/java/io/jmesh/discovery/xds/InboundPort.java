package io.jmesh.discovery.xds;

import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.discovery.model.Service;
import io.jmesh.discovery.model.ServicePort;
import java.util.Map;
import java.util.TreeMap;

/**
 * One workload port as a sidecar's inbound config sees it, from the service ports its endpoints serve: the
 * {@code protocol} of its inbound chain ({@code http}, {@code dubbo}, {@code bolt}, or {@code tcp} when unknown or
 * when services disagree; see {@link ListenerGenerator}) and whether the application speaks HTTP/2 on it (every
 * service says HTTP2 or gRPC: Istio's {@code setUpstreamProtocol} on the inbound cluster, see
 * {@link ClusterGenerator}). All that a sidecar's inbound config depends on per port, so {@link XdsCache} keys
 * inbound config by it.
 */
record InboundPort(String protocol, boolean http2) {

    /** The ports of {@code endpoints} (one workload's), in port order. */
    static Map<Integer, InboundPort> of(MeshSnapshot snapshot, Iterable<Endpoint> endpoints) {
        Map<Integer, InboundPort> out = new TreeMap<>();
        for (Endpoint e : endpoints) {
            out.merge(e.port(), of(snapshot, e), InboundPort::merge);
        }
        return out;
    }

    private static InboundPort of(MeshSnapshot snapshot, Endpoint e) {
        Service s = snapshot.service(e.serviceHost());
        if (s != null) {
            for (ServicePort p : s.ports()) {
                if (p.name().equals(e.servicePortName())) {
                    return new InboundPort(p.isHttp() ? "http" : p.rpcProtocol() != null ? p.rpcProtocol() : "tcp",
                            p.isHttp2());
                }
            }
        }
        return new InboundPort("tcp", false);
    }

    /** Two services on one port: their protocol if they agree, else {@code tcp}; HTTP/2 if both say so. */
    private InboundPort merge(InboundPort other) {
        return new InboundPort(protocol.equals(other.protocol) ? protocol : "tcp", http2 && other.http2);
    }
}
