package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/** Upstream HTTP/2 multiplexing within max_concurrent_streams, seen as connections at the backend. */
class ConnectionPoolTest {

    static final String CONFIG = """
            static_resources:
              listeners:
              - name: http
                address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
                filter_chains:
                - filters:
                  - name: envoy.filters.network.http_connection_manager
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                      stat_prefix: pool
                      route_config:
                        virtual_hosts:
                        - name: all
                          domains: ["*"]
                          routes:
                          - match: { prefix: / }
                            route: { cluster: h2 }
                      http_filters:
                      - name: envoy.filters.http.router
              clusters:
              - name: h2
                connect_timeout: 1s
                type: STATIC
                typed_extension_protocol_options:
                  envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                    "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                    explicit_http_config: { http2_protocol_options: { max_concurrent_streams: ${MAX} } }
                load_assignment:
                  cluster_name: h2
                  endpoints:
                  - lb_endpoints:
                    - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${PORT} } } }
            """;

    private static int connectionsFor(int maxStreams, int parallel) throws Exception {
        try (TestBackend backend = TestBackend.start("h2");
             ProxyFixture proxy = ProxyFixture.start(CONFIG, Map.of("PORT", backend.port(), "MAX", maxStreams))) {
            // One downstream connection carrying all requests: the proxy has one event loop for them.
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).connectTimeout(Duration.ofSeconds(5)).build();
            // Prime: open the HTTP/2 connection to the proxy (h2c upgrade on the first request).
            client.send(HttpRequest.newBuilder(URI.create(proxy.url("/prime"))).build(), HttpResponse.BodyHandlers.discarding());
            int before = backend.connections.get();
            List<CompletableFuture<HttpResponse<String>>> fs = new ArrayList<>();
            for (int i = 0; i < parallel; i++) {
                fs.add(client.sendAsync(HttpRequest.newBuilder(URI.create(proxy.url("/delay/400"))).timeout(Duration.ofSeconds(20)).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
            for (CompletableFuture<HttpResponse<String>> f : fs) {
                assertEquals(200, f.get(30, TimeUnit.SECONDS).statusCode());
            }
            return backend.connections.get() - before;
        }
    }

    @Test
    void streamsShareOneConnectionUpToTheLimit() throws Exception {
        assertEquals(0, connectionsFor(100, 6), "six concurrent requests multiplexed on the primed connection");
        assertEquals(5, connectionsFor(1, 6), "max_concurrent_streams: 1 needs one connection per concurrent request");
    }
}
