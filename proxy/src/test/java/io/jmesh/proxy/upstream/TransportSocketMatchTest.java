package io.jmesh.proxy.upstream;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.testing.TestCertificates;

/**
 * Envoy's {@code transport_socket_matches}, as Istio's auto mTLS uses them: each endpoint gets the transport
 * socket of the first match its {@code envoy.transport_socket_match} metadata satisfies, else the cluster's
 * {@code transport_socket}.
 */
class TransportSocketMatchTest {

    @TempDir
    Path dir;

    private static LbEndpoint endpoint(int port, String tlsMode) {
        LbEndpoint.Builder e = LbEndpoint.newBuilder().setEndpoint(Endpoint.newBuilder().setAddress(Address.newBuilder()
                .setSocketAddress(SocketAddress.newBuilder().setAddress("127.0.0.1").setPortValue(port))));
        if (tlsMode != null) {
            e.setMetadata(Metadata.newBuilder().putFilterMetadata("envoy.transport_socket_match", Struct.newBuilder()
                    .putFields("tlsMode", Value.newBuilder().setStringValue(tlsMode).build()).build()));
        }
        return e.build();
    }

    private TransportSocket tls() throws Exception {
        TestCertificates ca = TestCertificates.create(dir);
        TestCertificates.Issued cert = ca.issue("client", "spiffe://cluster.local/ns/default/sa/client");
        return TransportSocket.newBuilder().setName("envoy.transport_sockets.tls").setTypedConfig(Any.pack(
                UpstreamTlsContext.newBuilder().setCommonTlsContext(CommonTlsContext.newBuilder()
                        .addTlsCertificates(TlsCertificate.newBuilder()
                                .setCertificateChain(DataSource.newBuilder().setInlineString(
                                        Files.readString(cert.certificateChain())))
                                .setPrivateKey(DataSource.newBuilder().setInlineString(
                                        Files.readString(cert.privateKey()))))).build())).build();
    }

    private static Cluster.Builder cluster(TransportSocket mtls) {
        return Cluster.newBuilder().setName("outbound|9080||reviews").setType(Cluster.DiscoveryType.STATIC)
                .setLoadAssignment(ClusterLoadAssignment.newBuilder().setClusterName("outbound|9080||reviews")
                        .addEndpoints(LocalityLbEndpoints.newBuilder()
                                .addLbEndpoints(endpoint(9001, "istio"))
                                .addLbEndpoints(endpoint(9002, null))
                                .addLbEndpoints(endpoint(9003, "disabled"))))
                .addTransportSocketMatches(Cluster.TransportSocketMatch.newBuilder().setName("tlsMode-istio")
                        .setMatch(Struct.newBuilder().putFields("tlsMode",
                                Value.newBuilder().setStringValue("istio").build()))
                        .setTransportSocket(mtls));
    }

    private static Host host(UpstreamCluster c, int port) {
        return c.hosts().stream().filter(h -> h.address().getPort() == port).findFirst().orElseThrow();
    }

    @Test
    void eachEndpointGetsTheSocketOfItsFirstMatch() throws Exception {
        UpstreamCluster c = UpstreamCluster.build(cluster(tls())
                .addTransportSocketMatches(Cluster.TransportSocketMatch.newBuilder().setName("tlsMode-disabled")
                        .setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.raw_buffer")
                                .setTypedConfig(Any.pack(RawBuffer.getDefaultInstance()))))
                .build(), new Stats());
        assertNotNull(c.tls(host(c, 9001)), "tlsMode: istio -> mTLS");
        assertNotNull(c.tls(host(c, 9001)).current());
        assertNull(c.tls(host(c, 9002)), "no metadata -> the empty match: plaintext");
        assertNull(c.tls(host(c, 9003)), "another tlsMode -> the empty match: plaintext");
        assertTrue(c.tlsReady().isDone());
    }

    @Test
    void endpointsMatchingNothingUseTheClustersTransportSocket() throws Exception {
        TransportSocket mtls = tls();
        UpstreamCluster c = UpstreamCluster.build(cluster(mtls).build(), new Stats());
        assertNull(c.tls(host(c, 9002)), "no transport_socket: plaintext");
        UpstreamCluster d = UpstreamCluster.build(cluster(mtls).setTransportSocket(mtls).build(), new Stats());
        assertNotNull(d.tls(host(d, 9002)), "the cluster's transport_socket");
    }

    @Test
    void aBadMatchSocketIsRejectedWithItsPath() {
        ConfigException e = assertThrows(ConfigException.class, () -> UpstreamCluster.build(cluster(
                TransportSocket.newBuilder().setName("envoy.transport_sockets.alts").build()).build(), new Stats()));
        assertTrue(e.getMessage().startsWith("transport_socket_matches[0].transport_socket"), e.getMessage());
    }
}
