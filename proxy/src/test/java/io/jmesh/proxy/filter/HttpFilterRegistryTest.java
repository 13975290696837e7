package io.jmesh.proxy.filter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import com.google.protobuf.Any;

import io.envoyproxy.envoy.config.route.v3.FilterConfig;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.router.RouteEntry;
import io.jmesh.proxy.router.RouteTable;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;

/** Route-specific filter configs: the FilterConfig wrapper, unknown and invalid configs. */
public class HttpFilterRegistryTest {

    private static final String FAULT = """
            envoy.filters.http.fault:
              "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
              abort: { http_status: %d, percentage: { numerator: 100 } }
            """;

    public static RouteTable table(String yaml) throws ConfigException {
        return RouteTable.create(EnvoyTypes.PARSER.parse(yaml, RouteConfiguration.newBuilder()).build(),
                HttpFilterRegistry.DEFAULT);
    }

    public static RouteEntry route(RouteTable t, String path) {
        return t.route(new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, path));
    }

    @Test
    void unknownFilterIsAnErrorUnlessOptional() throws Exception {
        // As it arrives over xDS: a type this proxy has no descriptor for.
        Any lua = Any.newBuilder()
                .setTypeUrl("type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute").build();
        ConfigException e = assertThrows(ConfigException.class,
                () -> RouteTable.create(routeWith("envoy.filters.http.lua", lua), HttpFilterRegistry.DEFAULT));
        assertTrue(e.getMessage().startsWith("virtual_hosts[0].routes[0].typed_per_filter_config[\"envoy.filters.http.lua\"]: "
                + "type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute (expected: the config of a "
                + "supported HTTP filter: "), e.getMessage());
        Any optional = Any.pack(FilterConfig.newBuilder().setIsOptional(true).setConfig(lua).build());
        RouteTable t = RouteTable.create(routeWith("envoy.filters.http.lua", optional), HttpFilterRegistry.DEFAULT);
        assertNull(route(t, "/").perFilterConfig("envoy.filters.http.lua"));
    }

    private static RouteConfiguration routeWith(String filter, Any config) {
        return RouteConfiguration.newBuilder().addVirtualHosts(VirtualHost.newBuilder().setName("vh").addDomains("*")
                .addRoutes(Route.newBuilder().setMatch(RouteMatch.newBuilder().setPrefix("/"))
                        .setRoute(RouteAction.newBuilder().setCluster("c"))
                        .putTypedPerFilterConfig(filter, config))).build();
    }

    @Test
    void invalidConfigNamesItsPath() {
        ConfigException e = assertThrows(ConfigException.class, () -> table("""
                virtual_hosts:
                - name: vh
                  domains: ["*"]
                  routes:
                  - match: { prefix: / }
                    route: { cluster: c }
                    typed_per_filter_config:
                      %s""".formatted(FAULT.formatted(99).replace("\n", "\n          "))));
        assertEquals("virtual_hosts[0].routes[0].typed_per_filter_config[\"envoy.filters.http.fault\"].abort.http_status: "
                + "99 (expected: 200..599)", e.getMessage());
    }
}
