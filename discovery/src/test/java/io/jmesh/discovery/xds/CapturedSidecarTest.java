package io.jmesh.discovery.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.proxy.config.ConfigException;

/**
 * What a sidecar whose node metadata says {@code INTERCEPTION_MODE} gets over LDS: Istio's pod listeners
 * (virtualOutbound hands off by original destination, virtualInbound selects by it), while a sidecar without that
 * metadata keeps the listeners the proxy splits for local mode.
 */
class CapturedSidecarTest {

    private static final String YAML = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: reviews, namespace: default}
            spec:
              hosts: [reviews.default.svc.cluster.local]
              addresses: [10.96.0.9]
              location: MESH_INTERNAL
              resolution: STATIC
              ports: [{number: 9080, name: http, protocol: HTTP}, {number: 3306, name: tcp, protocol: TCP}]
              workloadSelector: {labels: {app: reviews}}
            ---
            apiVersion: networking.istio.io/v1
            kind: WorkloadEntry
            metadata: {name: reviews-v1, namespace: default}
            spec: {address: 10.1.0.21, labels: {app: reviews}}
            ---
            apiVersion: security.istio.io/v1
            kind: PeerAuthentication
            metadata: {name: default, namespace: default}
            spec: {mtls: {mode: DISABLE}}
            """;
    private static final String NODE = "sidecar~10.1.0.21~reviews-v1-1.default~default.svc.cluster.local";

    private static MeshSnapshot snapshot() {
        return TestSnapshots.of(1, ConfigParser.parse(null, YAML), MeshConfig.DEFAULT);
    }

    private static Node node(String interceptionMode) {
        Struct.Builder md = Struct.newBuilder().putFields("LABELS", Value.newBuilder().setStructValue(Struct
                .newBuilder().putFields("app", Value.newBuilder().setStringValue("reviews").build())).build());
        if (interceptionMode != null) {
            md.putFields("INTERCEPTION_MODE", Value.newBuilder().setStringValue(interceptionMode).build());
        }
        return Node.newBuilder().setId(NODE).setMetadata(md).build();
    }

    private static Map<String, Message> listeners(String interceptionMode) throws ConfigException {
        return XdsGenerator.generate(TypeUrls.LISTENER, ProxyNode.of(node(interceptionMode)), snapshot());
    }

    @Test
    void aRedirectedSidecarGetsIstiosPodListeners() throws Exception {
        Map<String, Message> l = listeners("REDIRECT");
        Listener outbound = (Listener) l.get("virtualOutbound");
        assertTrue(outbound.getUseOriginalDst().getValue(), "virtualOutbound hands off by original destination");
        assertEquals(15001, outbound.getAddress().getSocketAddress().getPortValue());
        assertEquals("PassthroughCluster", outbound.getFilterChains(0).getName(), "ALLOW_ANY by default");
        Listener http = (Listener) l.get("0.0.0.0_9080");
        assertFalse(http.getBindToPort().getValue(), "per-port outbound listeners take hand-offs only");
        Listener tcp = (Listener) l.get("10.96.0.9_3306");
        assertFalse(tcp.getBindToPort().getValue());
        Listener inbound = (Listener) l.get("virtualInbound");
        assertFalse(inbound.hasUseOriginalDst(), "inbound selects chains by destination port, it hands nothing off");
        assertEquals("envoy.filters.listener.original_dst", inbound.getListenerFilters(0).getName());
        assertFalse(inbound.hasTransparent());
        assertEquals(java.util.Set.of(9080, 3306, 0), inbound.getFilterChainsList().stream()
                .map(fc -> fc.getFilterChainMatch().getDestinationPort().getValue())
                .collect(java.util.stream.Collectors.toSet()), "a chain per workload port, and the passthrough");
    }

    @Test
    void inboundPassthroughLeavesFrom127_0_0_6() throws Exception {
        Listener inbound = (Listener) listeners("REDIRECT").get("virtualInbound");
        var passthrough = inbound.getFilterChainsList().stream()
                .filter(fc -> fc.getName().equals("InboundPassthroughFilterChain")).findFirst().orElseThrow();
        assertEquals("InboundPassthroughCluster", passthrough.getFilters(0).getTypedConfig()
                .unpack(io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.class).getCluster());
        var cluster = (io.envoyproxy.envoy.config.cluster.v3.Cluster) XdsGenerator.generate(TypeUrls.CLUSTER,
                ProxyNode.of(node("REDIRECT")), snapshot()).get("InboundPassthroughCluster");
        assertEquals(io.envoyproxy.envoy.config.cluster.v3.Cluster.DiscoveryType.ORIGINAL_DST, cluster.getType());
        assertEquals("127.0.0.6", cluster.getUpstreamBindConfig().getSourceAddress().getAddress());
        assertFalse(XdsGenerator.generate(TypeUrls.CLUSTER, ProxyNode.of(node(null)), snapshot())
                .containsKey("InboundPassthroughCluster"), "not for a sidecar without capture");
    }

    @Test
    void aTproxySidecarGetsATransparentInboundListener() throws Exception {
        Listener inbound = (Listener) listeners("TPROXY").get("virtualInbound");
        assertTrue(inbound.getTransparent().getValue());
        assertEquals("envoy.filters.listener.original_dst", inbound.getListenerFilters(0).getName());
        // As Istio: original_src with mark 1337, so that upstream connections keep the client's address.
        var originalSrc = inbound.getListenerFiltersList().stream()
                .filter(f -> f.getName().equals("envoy.filters.listener.original_src")).findFirst().orElseThrow();
        assertEquals(1337, originalSrc.getTypedConfig().unpack(
                io.envoyproxy.envoy.extensions.filters.listener.original_src.v3.OriginalSrc.class).getMark());
        assertTrue(listeners("REDIRECT").get("virtualInbound") instanceof Listener l && l.getListenerFiltersList()
                .stream().noneMatch(f -> f.getName().equals("envoy.filters.listener.original_src")));
    }

    @Test
    void aSidecarWithoutInterceptionKeepsTheListenersOfLocalMode() throws Exception {
        for (String mode : new String[] {null, "NONE"}) {
            Listener inbound = (Listener) listeners(mode).get("virtualInbound");
            assertTrue(inbound.getUseOriginalDst().getValue(), "the proxy splits it per port without iptables");
            assertTrue(inbound.getListenerFiltersList().stream()
                    .noneMatch(f -> f.getName().equals("envoy.filters.listener.original_dst")));
        }
    }

    @Test
    void anUnknownInterceptionModeIsRefusedByName() {
        ConfigException e = assertThrows(ConfigException.class, () -> ProxyNode.of(node("NAT")));
        assertEquals("node.metadata.INTERCEPTION_MODE: NAT (expected: REDIRECT, TPROXY or NONE)", e.getMessage());
    }
}
