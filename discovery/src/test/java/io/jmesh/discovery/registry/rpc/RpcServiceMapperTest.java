package io.jmesh.discovery.registry.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jmesh.discovery.model.Endpoint;
import io.jmesh.discovery.model.ServicePort;
import io.jmesh.discovery.registry.rpc.RpcServiceMapper.Catalog;
import io.jmesh.discovery.registry.rpc.RpcServiceMapper.Provider;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RpcServiceMapperTest {

    @Test
    void parsesADubboProviderUrl() {
        ProviderUrl url = ProviderUrl.parse("dubbo://10.0.0.5:20880/org.example.DemoService?application=demo"
                + "&methods=a%2Cb&version=1.0.0&version=9&empty=&flag");
        assertEquals("dubbo", url.protocol());
        assertEquals("10.0.0.5", url.host());
        assertEquals(20880, url.port());
        assertEquals("org.example.DemoService", url.path());
        assertEquals("a,b", url.parameter("methods"));
        assertEquals("1.0.0", url.parameter("version"), "the first of a repeated parameter");
        assertEquals("", url.parameter("empty"));
        assertTrue(url.parameters().containsKey("flag"));
    }

    @Test
    void parsesSofaRpcAndIpv6Urls() {
        ProviderUrl bolt = ProviderUrl.parse("BOLT://10.0.0.6:12200?version=1.0&uniqueId=u");
        assertEquals("bolt", bolt.protocol());
        assertEquals("", bolt.path());
        assertEquals("u", bolt.parameter("uniqueId"));
        ProviderUrl v6 = ProviderUrl.parse("tri://[fd00::1]:50051/org.example.Greeter");
        assertEquals("fd00::1", v6.host());
        assertEquals(50051, v6.port());
    }

    @Test
    void rejectsUrlsWithoutHostAndPort() {
        for (String bad : List.of("", "10.0.0.1:20880", "dubbo://10.0.0.1/x", "dubbo://10.0.0.1:0/x",
                "dubbo://10.0.0.1:70000", "dubbo://:20880", "dubbo://h:port")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ProviderUrl.parse(bad),
                    bad);
            assertTrue(e.getMessage().startsWith("url: ") && e.getMessage().contains("(expected: "), e.getMessage());
        }
    }

    @Test
    void hostnamesAreLowerCaseDnsNames() {
        assertEquals("org.apache.dubbo.demo.demoservice", RpcServiceMapper.hostname("org.apache.dubbo.demo.DemoService"));
        assertEquals("com.example.my-service.outer-inner", RpcServiceMapper.hostname("com.example.My_Service.Outer$Inner"));
        assertEquals("a.b", RpcServiceMapper.hostname("_a_..b$"));
        assertEquals("", RpcServiceMapper.hostname("$_"));
    }

    @Test
    void groupsProvidersByInterfaceWithOnePortPerProtocol() {
        List<Provider> providers = List.of(
                new Provider("org.example.Demo", ProviderUrl.parse(
                        "dubbo://10.0.0.2:20881/org.example.Demo?version=2&group=g&application=a&weight=7")),
                new Provider("org.example.Demo", ProviderUrl.parse(
                        "tri://10.0.0.2:50052/org.example.Demo?version=2")),
                new Provider("org.example.Demo", ProviderUrl.parse(
                        "dubbo://10.0.0.1:20880/org.example.Demo?version=1&enabled=false")),
                new Provider("org.example.Demo", ProviderUrl.parse("rest://10.0.0.3:8080/org.example.Demo")),
                new Provider("org.example.Hello", ProviderUrl.parse(
                        "bolt://10.0.0.4:12201?version=1.0&uniqueId=u&appName=h&weight=oops")));
        Catalog c = RpcServiceMapper.build(providers, "zk");
        assertEquals(List.of("org.example.demo", "org.example.hello"),
                c.services().stream().map(s -> s.hostname()).toList());
        assertEquals(List.of(new ServicePort("dubbo", 20880, "DUBBO", 20880),
                new ServicePort("grpc-tri", 50051, "GRPC", 50051)), c.services().get(0).ports());
        assertEquals(List.of(
                new Endpoint("org.example.demo", "dubbo", "10.0.0.2", 20881,
                        Map.of("version", "2", "group", "g", "application", "a", "protocol", "dubbo"), "", 7, "", ""),
                new Endpoint("org.example.demo", "grpc-tri", "10.0.0.2", 50052,
                        Map.of("version", "2", "protocol", "tri"), "", 100, "", ""),
                new Endpoint("org.example.hello", "bolt", "10.0.0.4", 12201,
                        Map.of("version", "1.0", "group", "u", "application", "h", "protocol", "bolt"), "", 100, "",
                        "")),
                c.endpoints());
        assertEquals(c, RpcServiceMapper.build(List.of(providers.get(4), providers.get(1), providers.get(0)), "zk"),
                "the order of providers does not matter");
    }
}
