package io.jmesh.discovery.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.jmesh.discovery.config.ConfigParser;
import io.jmesh.discovery.config.MeshConfig;
import io.jmesh.discovery.model.MeshSnapshot;
import io.jmesh.discovery.model.ServicePort;
import io.jmesh.proxy.network.rpc.RpcProtocol;
import io.jmesh.proxy.network.rpc.RpcProxyConfig;
import io.jmesh.proxy.router.RouteEntry;
import io.jmesh.proxy.telemetry.Stats;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The rpc_proxy filters generated for Dubbo and Bolt ports ({@code golden/sidecar-rpc.yaml}) are accepted
 * by the proxy's own {@link RpcProxyConfig} and route calls, seen as the proxy sees them, as the
 * VirtualService says.
 */
class RpcListenerTest {

    private static Map<String, Message> listeners;

    @BeforeAll
    static void generate() throws Exception {
        listeners = listeners("sidecar-rpc.yaml", "sidecar~10.5.0.9~consumer-1.default~default.svc.cluster.local",
                "consumer", null);
    }

    private static Map<String, Message> listeners(String golden, String nodeId, String app, String accessLog)
            throws Exception {
        MeshSnapshot snapshot = TestSnapshots.of(1, ConfigParser.parse(Path.of("src/test/resources/golden", golden)), new MeshConfig(null, null, accessLog, null));
        Node node = Node.newBuilder().setId(nodeId)
                .setMetadata(Struct.newBuilder().putFields("LABELS", Value.newBuilder().setStructValue(
                        Struct.newBuilder().putFields("app", Value.newBuilder().setStringValue(app).build()))
                        .build()))
                .build();
        return XdsGenerator.generate(TypeUrls.LISTENER, ProxyNode.of(node), snapshot);
    }

    private static RpcProxyConfig rpcProxy(String listener) throws Exception {
        Listener l = (Listener) listeners.get(listener);
        assertNotNull(l, listener);
        return rpcProxy(l.getFilterChains(0).getFilters(0), listener);
    }

    private static RpcProxyConfig rpcProxy(Filter f, String listener) throws Exception {
        assertEquals(RpcProxyConfig.FILTER_NAME, f.getName());
        assertTrue(RpcProxyConfig.matches(f.getTypedConfig()));
        return RpcProxyConfig.create(f.getTypedConfig(), () -> null, new Stats(), listener);
    }

    private static HttpRequest call(String iface, String method, Map<String, String> headers) {
        HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, '/' + iface + '/' + method);
        r.headers().set("host", iface).set("service", iface).set("method", method);
        headers.forEach(r.headers()::set);
        return r;
    }

    @Test
    void dubboPortRoutesByHeaderWeightAndDefault() throws Exception {
        RpcProxyConfig c = rpcProxy("0.0.0.0_20880");
        assertEquals(RpcProtocol.DUBBO, c.protocol());
        assertEquals("outbound_0.0.0.0_20880", c.statPrefix());

        HttpRequest v2 = call("org.example.DemoService", "sayHello", Map.of("version", "2.0.0"));
        assertEquals("outbound|20880|v2|org.example.demoservice", c.routeTable().route(v2).selectCluster(v2));

        HttpRequest other = call("org.example.DemoService", "bye", Map.of("version", "1.0.0"));
        assertEquals("outbound|20880|v1|org.example.demoservice", c.routeTable().route(other).selectCluster(other));

        HttpRequest hello = call("org.example.DemoService", "sayHello", Map.of());
        RouteEntry split = c.routeTable().route(hello);
        assertEquals("sayhello", split.name());
        assertEquals(2000, split.timeoutMillis());
        Set<String> picked = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            picked.add(split.selectCluster(hello));
        }
        assertEquals(Set.of("outbound|20880|v1|org.example.demoservice", "outbound|20880|v2|org.example.demoservice"),
                picked);

        HttpRequest greet = call("org.example.GreetingService", "greet", Map.of());
        assertEquals("outbound|20880||org.example.greetingservice", c.routeTable().route(greet).selectCluster(greet));

        assertNull(c.routeTable().route(call("org.example.Unknown", "m", Map.of())));
    }

    @Test
    void sofarpcPortIsBoltWithTheServiceAsOnlyVirtualHost() throws Exception {
        RpcProxyConfig c = rpcProxy("240.240.0.7_12200");
        assertEquals(RpcProtocol.BOLT, c.protocol());
        assertEquals("outbound|12200||com.example.helloservice", c.statPrefix());
        HttpRequest r = call("com.example.HelloService", "hello", Map.of());
        assertEquals("outbound|12200||com.example.helloservice", c.routeTable().route(r).selectCluster(r));
    }

    @Test
    void providerInboundPortsAreRpcProxiesToTheirInboundCluster() throws Exception {
        Listener inbound = (Listener) listeners("sidecar-rpc-inbound.yaml",
                "sidecar~10.5.0.11~provider-1.default~default.svc.cluster.local", "provider", "/dev/stdout")
                .get("virtualInbound");
        Map<Integer, Filter> byPort = new java.util.TreeMap<>();
        for (var fc : inbound.getFilterChainsList()) {
            if (fc.hasFilterChainMatch()) {
                // The chain named inbound|P|| (a PERMISSIVE port has more: -plaintext, -tls); its terminal filter.
                byPort.putIfAbsent(fc.getFilterChainMatch().getDestinationPort().getValue(),
                        fc.getFilters(fc.getFiltersCount() - 1));
            }
        }
        assertEquals(Set.of(6379, 12201, 20880), byPort.keySet());
        assertEquals(ListenerGenerator.TCP_PROXY, byPort.get(6379).getName());

        RpcProxyConfig dubbo = rpcProxy(byPort.get(20880), "virtualInbound");
        assertEquals(RpcProtocol.DUBBO, dubbo.protocol());
        assertEquals("inbound_0.0.0.0_20880", dubbo.statPrefix());
        HttpRequest any = call("org.example.AnyService", "m", Map.of());
        RouteEntry route = dubbo.routeTable().route(any);
        assertEquals("inbound|20880||", route.selectCluster(any));
        assertEquals(0, route.timeoutMillis());

        RpcProxyConfig bolt = rpcProxy(byPort.get(12201), "virtualInbound");
        assertEquals(RpcProtocol.BOLT, bolt.protocol());
        assertEquals("inbound_0.0.0.0_12201", bolt.statPrefix());
        assertEquals("inbound|12201||", bolt.routeTable().route(any).selectCluster(any));
    }

    @Test
    void rpcProtocolFromProtocolOrPortName() {
        assertEquals("dubbo", new ServicePort("dubbo-demo", 20880, "DUBBO", 20880).rpcProtocol());
        assertEquals("dubbo", new ServicePort("dubbo-demo", 20880, "", 20880).rpcProtocol());
        assertEquals("bolt", new ServicePort("bolt", 12200, "", 12200).rpcProtocol());
        assertEquals("bolt", new ServicePort("x", 12200, "SOFARPC", 12200).rpcProtocol());
        assertEquals("bolt", new ServicePort("sofarpc-a", 12200, null, 12200).rpcProtocol());
        assertNull(new ServicePort("dubbo", 20880, "TCP", 20880).rpcProtocol());
        assertNull(new ServicePort("dubbox", 20880, "", 20880).rpcProtocol());
        assertNull(new ServicePort("http", 80, "HTTP", 80).rpcProtocol());
    }
}
