package io.jmesh.proxy.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.envoyproxy.envoy.config.route.v3.RateLimit;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.network.http.HttpRequestAttributes;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;

/** Route {@code rate_limits} actions turned into descriptors, and what the router refuses. */
class RateLimitPolicyTest {

    private static RateLimitPolicy policy(String yaml) throws ConfigException {
        return RateLimitPolicy.from(EnvoyTypes.PARSER.parse(yaml, RateLimit.newBuilder()).build(), "rate_limits[0]");
    }

    private static final RateLimitPolicy.Context CTX = new RateLimitPolicy.Context() {
        @Override
        public String localServiceCluster() {
            return "frontend";
        }

        @Override
        public String destinationCluster() {
            return "reviews";
        }
    };

    private static HttpRequestAttributes request(String... headers) throws Exception {
        DefaultHttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/api?x=1");
        r.headers().set("host", "shop");
        for (int i = 0; i < headers.length; i += 2) {
            r.headers().add(headers[i], headers[i + 1]);
        }
        ConnectionInfo c = ConnectionInfo.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 80),
                new InetSocketAddress(InetAddress.getByName("10.1.2.3"), 5555));
        return new HttpRequestAttributes(r, c, "http");
    }

    @Test
    void actionsMakeEntriesInOrder() throws Exception {
        RateLimitPolicy p = policy("""
                actions:
                - source_cluster: {}
                - destination_cluster: {}
                - request_headers: { header_name: ":path", descriptor_key: path }
                - remote_address: {}
                - masked_remote_address: { v4_prefix_mask_len: 16 }
                - generic_key: { descriptor_value: api }
                - header_value_match: { descriptor_value: beta, headers: [ { name: x-beta, present_match: true } ] }
                """);
        assertEquals(List.of(new RateLimitPolicy.Entry("source_cluster", "frontend"),
                new RateLimitPolicy.Entry("destination_cluster", "reviews"),
                new RateLimitPolicy.Entry("path", "/api?x=1"),
                new RateLimitPolicy.Entry("remote_address", "10.1.2.3"),
                new RateLimitPolicy.Entry("masked_remote_address", "10.1.0.0/16"),
                new RateLimitPolicy.Entry("generic_key", "api"),
                new RateLimitPolicy.Entry("header_match", "beta")),
                p.descriptor(request("x-beta", "1"), CTX));
        assertNull(p.descriptor(request(), CTX), "header_value_match without a match drops the descriptor");
    }

    @Test
    void missingHeaderDropsTheDescriptorUnlessSkipped() throws Exception {
        assertNull(policy("actions: [ { request_headers: { header_name: x-user, descriptor_key: user } } ]")
                .descriptor(request(), CTX));
        assertEquals(List.of(new RateLimitPolicy.Entry("k", "v")), policy("actions: ["
                + " { request_headers: { header_name: x-user, descriptor_key: user, skip_if_absent: true } },"
                + " { generic_key: { descriptor_key: k, descriptor_value: v } } ]").descriptor(request(), CTX));
    }

    @Test
    void unsupportedActionsAreRefusedWithTheirPath() {
        ConfigException e = assertThrows(ConfigException.class, () -> RouteTable.create(EnvoyTypes.PARSER.parse("""
                virtual_hosts:
                - name: v
                  domains: ["*"]
                  routes:
                  - match: { prefix: "/" }
                    route:
                      cluster: c
                      rate_limits:
                      - actions: [ { query_parameters: { query_parameter_name: q, descriptor_key: q } } ]
                """, RouteConfiguration.newBuilder()).build()));
        assertEquals("virtual_hosts[0].routes[0].route.rate_limits[0].actions[0]: query_parameters (expected: one of"
                + " source_cluster, destination_cluster, request_headers, remote_address, masked_remote_address,"
                + " generic_key, header_value_match)", e.getMessage());
    }
}
