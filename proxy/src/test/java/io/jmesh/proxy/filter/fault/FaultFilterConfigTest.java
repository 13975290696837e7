package io.jmesh.proxy.filter.fault;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.filter.HttpFilterRegistryTest;
import io.jmesh.proxy.router.RouteTable;

/** The fault filter's route-specific config: the route's replaces the virtual host's. */
class FaultFilterConfigTest {

    @Test
    void mostSpecificLevelWins() throws Exception {
        RouteTable t = HttpFilterRegistryTest.table("""
                virtual_hosts:
                - name: vh
                  domains: ["*"]
                  typed_per_filter_config:
                    envoy.filters.http.fault:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
                      abort: { http_status: 500, percentage: { numerator: 100 } }
                  routes:
                  - match: { prefix: /own }
                    route: { cluster: c }
                    typed_per_filter_config:
                      envoy.filters.http.fault:
                        "@type": type.googleapis.com/envoy.config.route.v3.FilterConfig
                        config:
                          "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
                          abort: { http_status: 418, percentage: { numerator: 100 } }
                  - match: { prefix: / }
                    route: { cluster: c }
                """);
        Object own = HttpFilterRegistryTest.route(t, "/own").perFilterConfig("envoy.filters.http.fault");
        Object inherited = HttpFilterRegistryTest.route(t, "/other").perFilterConfig("envoy.filters.http.fault");
        assertNotNull(own);
        assertNotNull(inherited);
        assertEquals(418, ((FaultSettings) own).abortHttpStatus);
        assertEquals(500, ((FaultSettings) inherited).abortHttpStatus);
        assertNull(HttpFilterRegistryTest.route(t, "/other").perFilterConfig("envoy.filters.http.cors"));
    }
}
