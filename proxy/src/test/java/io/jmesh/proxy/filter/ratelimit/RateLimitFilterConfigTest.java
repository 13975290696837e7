package io.jmesh.proxy.filter.ratelimit;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.testing.Bootstraps;

/** Bad {@code envoy.filters.http.ratelimit} configs are refused with the field's path. */
class RateLimitFilterConfigTest {

    private static String error(String fields) {
        ConfigException e = assertThrows(ConfigException.class, () -> Bootstraps.http()
                .httpFilter(RateLimitFilterFactory.NAME,
                        Bootstraps.typed("envoy.extensions.filters.http.ratelimit.v3.RateLimit", fields))
                .route("/", "backend").cluster("backend", 1).start(1));
        return e.getMessage();
    }

    @Test
    void refusedWithThePath() {
        String svc = ", rate_limit_service: { transport_api_version: V3, grpc_service: { envoy_grpc: { cluster_name: rls } } }";
        String m = error("timeout: 1s" + svc);
        assertTrue(m.contains("http_filters[0].typed_config.domain: \"\" (expected: a domain)"), m);
        m = error("domain: d");
        assertTrue(m.contains("http_filters[0].typed_config.rate_limit_service: unset"), m);
        m = error("domain: d, rate_limit_service: { grpc_service: { google_grpc: { target_uri: x, stat_prefix: s } } }");
        assertTrue(m.contains("typed_config.rate_limit_service.grpc_service: GOOGLE_GRPC (expected: envoy_grpc;"
                + " google_grpc is not supported)"), m);
        m = error("domain: d, request_type: internal" + svc);
        assertTrue(m.contains("typed_config.request_type: internal (expected: both or unset;"), m);
    }
}
