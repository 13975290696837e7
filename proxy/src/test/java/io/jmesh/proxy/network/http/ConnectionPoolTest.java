package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/** Upstream HTTP/2 multiplexing within max_concurrent_streams, seen as connections at the backend. */
class ConnectionPoolTest {

    /** Every path to {@code h2}, an h2c cluster allowing {@code maxStreams} concurrent streams a connection. */
    static Bootstraps config(int port, int maxStreams) {
        return Bootstraps.http()
                .statPrefix("pool")
                .route("/", "h2")
                .cluster("h2", port)
                .httpProtocolOptions("h2", "explicit_http_config: { http2_protocol_options: { max_concurrent_streams: "
                        + maxStreams + " } }");
    }

    private static int connectionsFor(int maxStreams, int parallel) throws Exception {
        try (TestBackend backend = TestBackend.start("h2");
             ProxyFixture proxy = config(backend.port(), maxStreams).start(2)) {
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
