package io.jmesh.discovery.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.jmesh.proxy.config.ConfigException;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProxyNodeTest {

    @Test
    void readsIstioSidecarAndRouterIds() throws Exception {
        ProxyNode sidecar = ProxyNode.of(Node.newBuilder()
                .setId("sidecar~10.0.0.7~reviews-v1-abc.shop~shop.svc.cluster.local")
                .setMetadata(Struct.newBuilder().putFields("LABELS", Value.newBuilder().setStructValue(
                        Struct.newBuilder().putFields("app", Value.newBuilder().setStringValue("reviews").build()))
                        .build()).putFields("CLUSTER_ID", Value.newBuilder().setStringValue("Kubernetes").build()))
                .build());
        assertEquals(ProxyNode.Type.SIDECAR, sidecar.type());
        assertEquals("10.0.0.7", sidecar.ip());
        assertEquals("reviews-v1-abc", sidecar.name());
        assertEquals("shop", sidecar.namespace());
        assertEquals(Map.of("app", "reviews"), sidecar.labels());
        assertEquals("Kubernetes", sidecar.clusterId());

        ProxyNode router = ProxyNode.of(Node.newBuilder()
                .setId("router~10.0.0.8~ingress-1.istio-system~istio-system.svc.cluster.local").build());
        assertEquals(ProxyNode.Type.ROUTER, router.type());
        assertEquals("istio-system", router.namespace());
    }

    @Test
    void grpcGeneratorMakesAProxylessClientWhateverTheId() throws Exception {
        Struct md = Struct.newBuilder().putFields("GENERATOR", Value.newBuilder().setStringValue("grpc").build())
                .putFields("NAMESPACE", Value.newBuilder().setStringValue("payments").build()).build();
        ProxyNode istioId = ProxyNode.of(Node.newBuilder()
                .setId("sidecar~10.0.0.9~client.default~default.svc.cluster.local").setMetadata(md).build());
        assertEquals(ProxyNode.Type.PROXYLESS_GRPC, istioId.type());
        assertEquals("payments", istioId.namespace());
        ProxyNode anyId = ProxyNode.of(Node.newBuilder().setId("my-client").setMetadata(md).build());
        assertEquals(ProxyNode.Type.PROXYLESS_GRPC, anyId.type());
    }

    @Test
    void rejectsIdsThatAreNotIstios() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> ProxyNode.of(Node.newBuilder().setId("gateway~1.2.3.4~x.y~y.svc.cluster.local").build()));
        assertEquals("node.id: gateway~1.2.3.4~x.y~y.svc.cluster.local (expected: "
                + "sidecar~IP~name.namespace~namespace.svc.cluster.local or router~...)", e.getMessage());
    }
}
