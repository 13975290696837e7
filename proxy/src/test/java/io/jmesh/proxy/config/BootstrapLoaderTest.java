package io.jmesh.proxy.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;

/** Reading Envoy bootstrap files: YAML and JSON into the real protos, errors with file and field path. */
class BootstrapLoaderTest {

    static final String MINIMAL = """
            static_resources:
              listeners:
              - name: l
                address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }
                filter_chains:
                - filters:
                  - name: envoy.filters.network.http_connection_manager
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                      statPrefix: camel_case_is_fine
                      stream_idle_timeout: 30s
                      route_config: { virtual_hosts: [{ name: v, domains: ["*"], routes: [{ match: { prefix: / }, route: { cluster: c } }] }] }
                      http_filters: [{ name: envoy.filters.http.router }]
              clusters:
              - name: c
                connect_timeout: 0.25s
                lb_policy: ROUND_ROBIN
            """;

    @Test
    void parsesYamlIntoRealProtos() throws Exception {
        Bootstrap b = BootstrapLoader.parse(MINIMAL);
        assertEquals("l", b.getStaticResources().getListeners(0).getName());
        assertEquals(250_000_000, b.getStaticResources().getClusters(0).getConnectTimeout().getNanos());
        HttpConnectionManager hcm = b.getStaticResources().getListeners(0).getFilterChains(0).getFilters(0)
                .getTypedConfig().unpack(HttpConnectionManager.class);
        assertEquals("camel_case_is_fine", hcm.getStatPrefix());
        assertEquals(30, hcm.getStreamIdleTimeout().getSeconds());
    }

    @Test
    void parsesJson() throws Exception {
        Bootstrap b = BootstrapLoader.parse("{\"static_resources\":{\"clusters\":[{\"name\":\"x\",\"type\":\"STRICT_DNS\"}]}}");
        assertEquals("x", b.getStaticResources().getClusters(0).getName());
    }

    @Test
    void unknownFieldNamesItsPath() {
        ConfigException e = assertThrows(ConfigException.class, () ->
                BootstrapLoader.parse(MINIMAL.replace("lb_policy: ROUND_ROBIN", "lb_polcy: ROUND_ROBIN")));
        assertEquals("static_resources.clusters[0].lb_polcy: unknown field (expected: a field of envoy.config.cluster.v3.Cluster)",
                e.getMessage());
    }

    @Test
    void unknownFieldInsideTypedConfigNamesItsPath() {
        ConfigException e = assertThrows(ConfigException.class, () ->
                BootstrapLoader.parse(MINIMAL.replace("stream_idle_timeout: 30s", "stream_idle_timout: 30s")));
        assertTrue(e.getMessage().startsWith(
                "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.stream_idle_timout: unknown field"),
                e.getMessage());
    }

    @Test
    void enumNamesAreReadCaseInsensitivelyAsEnvoyReadsThem() throws Exception {
        Bootstrap b = BootstrapLoader.parse(MINIMAL.replace("lb_policy: ROUND_ROBIN", "lb_policy: least_request")
                .replace("statPrefix: camel_case_is_fine", "statPrefix: s\n" + " ".repeat(10) + "codec_type: auto"));
        assertEquals(io.envoyproxy.envoy.config.cluster.v3.Cluster.LbPolicy.LEAST_REQUEST,
                b.getStaticResources().getClusters(0).getLbPolicy());
        HttpConnectionManager hcm = b.getStaticResources().getListeners(0).getFilterChains(0).getFilters(0)
                .getTypedConfig().unpack(HttpConnectionManager.class);
        assertEquals(HttpConnectionManager.CodecType.AUTO, hcm.getCodecType());
    }

    @Test
    void badEnumNamesTheChoices() {
        ConfigException e = assertThrows(ConfigException.class, () ->
                BootstrapLoader.parse(MINIMAL.replace("ROUND_ROBIN", "ROUND_ROBBIN")));
        assertTrue(e.getMessage().startsWith("static_resources.clusters[0].lb_policy: ROUND_ROBBIN (expected: one of ["),
                e.getMessage());
    }

    @Test
    void wrongTypeIsReported() {
        ConfigException e = assertThrows(ConfigException.class, () ->
                BootstrapLoader.parse(MINIMAL.replace("port_value: 10000", "port_value: [1]")));
        assertEquals("static_resources.listeners[0].address.socket_address.port_value: [1] (expected: a number)", e.getMessage());
    }

    @Test
    void unknownTypeUrlIsReported() {
        ConfigException e = assertThrows(ConfigException.class, () ->
                BootstrapLoader.parse(MINIMAL.replace("http_connection_manager.v3.HttpConnectionManager", "nope.v3.Nope")));
        assertTrue(e.getMessage().contains("filters[0].typed_config.@type: type.googleapis.com/envoy.extensions.filters.network.nope.v3.Nope"),
                e.getMessage());
    }

    @Test
    void invalidYamlNamesTheLine() {
        ConfigException e = assertThrows(ConfigException.class, () -> BootstrapLoader.parse("a: [\n b: c"));
        assertTrue(e.getMessage().startsWith("invalid YAML/JSON"), e.getMessage());
        assertTrue(e.getMessage().contains("line"), e.getMessage());
    }

    @Test
    void fileErrorsNameTheFile(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("envoy.yaml");
        Files.writeString(f, MINIMAL.replace("lb_policy", "lb_polcy"));
        ConfigException e = assertThrows(ConfigException.class, () -> BootstrapLoader.load(f));
        assertTrue(e.getMessage().startsWith(f + ": static_resources.clusters[0].lb_polcy"), e.getMessage());
        ConfigException missing = assertThrows(ConfigException.class, () -> BootstrapLoader.load(dir.resolve("nope.yaml")));
        assertTrue(missing.getMessage().endsWith("nope.yaml: no such file"), missing.getMessage());
    }
}
