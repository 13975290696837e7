package io.jmesh.proxy.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.extensions.upstreams.http.v3.HttpProtocolOptions;

/** The {@code sds-grpc} cluster {@code jmesh proxy --ca-address} adds to its generated bootstrap, in Istio's shape. */
class AdsBootstrapSdsClusterTest {

    @Test
    void addsIstiosSdsGrpcClusterOnce() throws Exception {
        Bootstrap b = AdsBootstrap.forDiscovery("127.0.0.1", 15010,
                "sidecar~10.0.0.1~reviews-v1.default~default.svc.cluster.local", Map.of(), Map.of(), 0);
        Bootstrap with = AdsBootstrap.withSdsCluster(b, Path.of("/run/agent/socket"));
        Cluster sds = with.getStaticResources().getClustersList().stream()
                .filter(c -> c.getName().equals("sds-grpc")).findFirst().orElseThrow();
        assertEquals(Cluster.DiscoveryType.STATIC, sds.getType());
        assertEquals("/run/agent/socket",
                     sds.getLoadAssignment().getEndpoints(0).getLbEndpoints(0).getEndpoint().getAddress().getPipe()
                             .getPath());
        assertTrue(sds.getTypedExtensionProtocolOptionsOrThrow("envoy.extensions.upstreams.http.v3.HttpProtocolOptions")
                           .unpack(HttpProtocolOptions.class).getExplicitHttpConfig().hasHttp2ProtocolOptions(),
                   "gRPC needs HTTP/2");
        assertTrue(SdsSubscriptions.isGrpcOnly(sds), "kept out of the cluster manager");
        assertEquals(2, with.getStaticResources().getClustersCount(), "xds-grpc and sds-grpc");
        assertSame(with, AdsBootstrap.withSdsCluster(with, Path.of("/elsewhere")), "an existing sds-grpc is kept");
    }
}
