package io.jmesh.proxy.extension;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

import com.google.protobuf.Any;

import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.cors.CorsFilterFactory;
import io.jmesh.proxy.filter.router.RouterFilterFactory;
import io.jmesh.proxy.listener.ListenerFilterFactory;
import io.jmesh.proxy.network.NetworkFilterFactory;
import io.jmesh.proxy.network.NetworkFilterInstaller;
import io.jmesh.proxy.network.tcp.TcpProxyFilterFactory;
import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.ProxyFixture;

/** The extension registry: built-ins, look-up by type URL then name, replacement, errors, and injection. */
class ExtensionRegistryTest {

    @Test
    void defaultRegistryHasTheBuiltIns() {
        ExtensionRegistry r = ExtensionRegistry.loadDefault();
        Set<String> network = new TreeSet<>();
        r.all(NetworkFilterFactory.KIND).forEach(f -> network.add(f.name()));
        assertTrue(network.containsAll(List.of("envoy.filters.network.http_connection_manager",
                "envoy.filters.network.tcp_proxy", "jmesh.filters.network.rpc_proxy")), network.toString());
        Set<String> listener = new TreeSet<>();
        r.all(ListenerFilterFactory.KIND).forEach(f -> listener.add(f.name()));
        assertEquals(Set.of("envoy.filters.listener.tls_inspector", "envoy.filters.listener.http_inspector",
                "envoy.filters.listener.original_dst", "envoy.filters.listener.original_src",
                "envoy.filters.listener.proxy_protocol", "jmesh.filters.listener.rpc_inspector"), listener);
        Set<String> http = new TreeSet<>();
        r.all(ExtensionKind.HTTP_FILTER).forEach(f -> http.add(f.name()));
        assertTrue(http.containsAll(List.of("envoy.filters.http.fault", "envoy.filters.http.cors",
                "envoy.filters.http.router")), http.toString());
    }

    @Test
    void looksUpByTypeUrlThenNameAndLaterRegistrationsReplace() throws Exception {
        TcpProxyFilterFactory builtin = new TcpProxyFilterFactory();
        NetworkFilterFactory replacement = new NetworkFilterFactory() {
            @Override
            public String name() {
                return TcpProxyFilterFactory.NAME;
            }

            @Override
            public List<String> typeUrls() {
                return List.of();
            }

            @Override
            public NetworkFilterInstaller create(Any typedConfig, Context context) {
                return m -> { };
            }
        };
        ExtensionRegistry r = ExtensionRegistry.builder().add(builtin).add(replacement).build();
        Any tcp = Any.pack(TcpProxy.getDefaultInstance());
        assertSame(builtin, r.find(NetworkFilterFactory.KIND, "any name", tcp), "the type URL wins");
        assertSame(replacement, r.find(NetworkFilterFactory.KIND, TcpProxyFilterFactory.NAME, null),
                "the later registration of a name replaces the earlier");
        assertNull(r.find(ListenerFilterFactory.KIND, TcpProxyFilterFactory.NAME, tcp), "kinds are apart");
        ConfigException e = assertThrows(ConfigException.class, () -> r.require(ListenerFilterFactory.KIND,
                "envoy.filters.listener.nope", null, "listeners[0].listener_filters[2]", false));
        assertEquals("listeners[0].listener_filters[2].name: envoy.filters.listener.nope (expected: a listener_filter"
                + " of [])", e.getMessage());
        assertNull(r.require(ListenerFilterFactory.KIND, "envoy.filters.listener.nope", null, "x", true),
                "optional: skipped");
        ExtensionRegistry more = ExtensionRegistry.loadDefault().toBuilder().add(replacement).build();
        assertSame(replacement, more.find(NetworkFilterFactory.KIND, TcpProxyFilterFactory.NAME, null),
                "the default registry plus one: the name is replaced");
        assertTrue(more.find(NetworkFilterFactory.KIND, "x", tcp) instanceof TcpProxyFilterFactory,
                "the built-in is still found by its type URL");
        assertTrue(more.find(ListenerFilterFactory.KIND, "envoy.filters.listener.tls_inspector", null) != null);
    }

    /** A connection manager with the CORS filter before the router, answering every request itself. */
    static Bootstraps hcmWithCors() {
        return Bootstraps.http()
                .statPrefix("in")
                .httpFilter("envoy.filters.http.cors", Bootstraps.typed("envoy.extensions.filters.http.cors.v3.Cors", ""))
                .routeYaml("{ match: { prefix: / }, direct_response: { status: 200 } }");
    }

    @Test
    void theHttpConnectionManagerReadsTheInjectedRegistrysHttpFilters() throws Exception {
        try (ProxyFixture ok = hcmWithCors().start(2)) {
            assertTrue(ok.port() > 0);
        }
        ExtensionRegistry noCors = ExtensionRegistry.builder()
                .add(ExtensionKind.HTTP_FILTER, new RouterFilterFactory())
                .loadServices(ExtensionRegistryTest.class.getClassLoader())
                .build();
        assertTrue(noCors.all(ExtensionKind.HTTP_FILTER).stream().noneMatch(f -> f instanceof CorsFilterFactory));
        ConfigException e = assertThrows(ConfigException.class, () -> hcmWithCors().start(1, noCors));
        assertTrue(e.getMessage().startsWith("static_resources.listeners[0].filter_chains[0].filters[0].typed_config"
                + ".http_filters[0].name: envoy.filters.http.cors"), e.getMessage());
    }
}
