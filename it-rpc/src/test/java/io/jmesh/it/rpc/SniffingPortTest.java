package io.jmesh.it.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;


import org.apache.dubbo.config.ApplicationConfig;
import org.apache.dubbo.config.ProtocolConfig;
import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.RegistryConfig;
import org.apache.dubbo.config.ServiceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.rpc.model.FrameworkModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.alipay.sofa.rpc.config.ConsumerConfig;
import com.alipay.sofa.rpc.config.ProviderConfig;
import com.alipay.sofa.rpc.config.ServerConfig;

import io.jmesh.proxy.config.BootstrapLoader;
import io.jmesh.proxy.server.ProxyServer;

/**
 * Protocol sniffing with real clients: a SOFARPC 5.13.2 consumer and a Dubbo 3.3.6 consumer dial the same proxy
 * port; the HTTP and RPC inspectors tell Bolt from Dubbo and each call reaches its own real provider.
 */
class SniffingPortTest {

    static final String CONFIG = """
            static_resources:
              listeners:
              - name: inbound
                address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
                listener_filters:
                - name: envoy.filters.listener.http_inspector
                  typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector }
                - name: jmesh.filters.listener.rpc_inspector
                filter_chains:
                - filter_chain_match: { application_protocols: [bolt] }
                  filters:
                  - name: jmesh.filters.network.rpc_proxy
                    typed_config:
                      "@type": type.googleapis.com/xds.type.v3.TypedStruct
                      type_url: type.googleapis.com/jmesh.filters.network.rpc_proxy.v1.RpcProxy
                      value:
                        stat_prefix: bolt
                        protocol: bolt
                        route_config: { virtual_hosts: [{ name: all, domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: sofa } }] }] }
                - filter_chain_match: { application_protocols: [dubbo] }
                  filters:
                  - name: jmesh.filters.network.rpc_proxy
                    typed_config:
                      "@type": type.googleapis.com/xds.type.v3.TypedStruct
                      type_url: type.googleapis.com/jmesh.filters.network.rpc_proxy.v1.RpcProxy
                      value:
                        stat_prefix: dubbo
                        protocol: dubbo
                        route_config: { virtual_hosts: [{ name: all, domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: dubbo } }] }] }
              clusters:
              - name: sofa
                connect_timeout: 1s
                type: STATIC
                load_assignment:
                  cluster_name: sofa
                  endpoints:
                  - lb_endpoints:
                    - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } }
              - name: dubbo
                connect_timeout: 1s
                type: STATIC
                load_assignment:
                  cluster_name: dubbo
                  endpoints:
                  - lb_endpoints:
                    - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } }
            """;

    private static ServerConfig sofaServer;
    private static DubboBootstrap dubboProvider;
    private static DubboBootstrap dubboConsumer;
    private static ProxyServer proxy;
    private static GreetingService greeting;

    @BeforeAll
    static void start() throws Exception {
        DubboApps.setLocalHost("127.0.0.1"); // Dubbo would dial another address (PEERS.md)
        final int sofaPort = RpcMesh.freePort();
        sofaServer = new ServerConfig().setProtocol("bolt").setHost("127.0.0.1").setBoundHost("127.0.0.1")
                                       .setPort(sofaPort).setDaemon(true);
        new ProviderConfig<HelloService>()
                .setInterfaceId(HelloService.class.getName())
                .setUniqueId("sniffing") // another test of this JVM exports HelloService too
                .setRef((name, times) -> "bolt says hello " + name)
                .setServer(sofaServer)
                .setRegister(false)
                .export();
        final int dubboPort = RpcMesh.freePort();
        final ServiceConfig<GreetingService> service = new ServiceConfig<>();
        service.setInterface(GreetingService.class);
        service.setRef(name -> "dubbo says hello " + name);
        service.setVersion("1.0.0");
        final ProtocolConfig protocol = new ProtocolConfig("dubbo", dubboPort);
        protocol.setHost("127.0.0.1");
        final ApplicationConfig providerApp = new ApplicationConfig("sniff-provider");
        providerApp.setQosEnable(false);
        dubboProvider = DubboBootstrap.newInstance(new FrameworkModel())
                                      .application(providerApp)
                                      .registry(new RegistryConfig("N/A"))
                                      .protocol(protocol)
                                      .service(service)
                                      .start();
        proxy = ProxyServer.start(BootstrapLoader.parse(String.format(CONFIG, sofaPort, dubboPort)), 1);

        final ReferenceConfig<GreetingService> reference = new ReferenceConfig<>();
        dubboConsumer = DubboApps.consumer(proxy.listenerAddresses().get("inbound"), reference);
        greeting = reference.get();
    }

    private static int port() {
        return proxy.listenerAddresses().get("inbound").getPort();
    }

    @AfterAll
    static void stop() {
        if (dubboConsumer != null) {
            dubboConsumer.stop();
        }
        if (proxy != null) {
            proxy.close();
        }
        if (dubboProvider != null) {
            dubboProvider.stop();
        }
        if (sofaServer != null) {
            sofaServer.destroy();
        }
    }

    @Test
    void boltAndDubboOnOnePortReachTheirProviders() {
        final HelloService hello = new ConsumerConfig<HelloService>()
                .setInterfaceId(HelloService.class.getName())
                .setUniqueId("sniffing")
                .setProtocol("bolt")
                .setDirectUrl("bolt://127.0.0.1:" + port())
                .setRegister(false)
                .setSubscribe(false)
                .setTimeout(5000)
                .refer();
        for (int i = 0; i < 3; i++) {
            assertEquals("bolt says hello mesh" + i, hello.sayHello("mesh" + i, 1));
            assertEquals("dubbo says hello mesh" + i, greeting.greet("mesh" + i));
        }
        assertEquals(3, proxy.stats().counterValues().get("rpc.bolt.request_total"));
        assertEquals(3, proxy.stats().counterValues().get("rpc.dubbo.request_total"));
    }
}
