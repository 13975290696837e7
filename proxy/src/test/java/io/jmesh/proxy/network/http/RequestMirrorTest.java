package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.sun.net.httpserver.HttpServer;

import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/**
 * Request mirroring ({@code RouteAction.request_mirror_policies}) through a real proxy: a primary backend
 * answers the client, a second real HTTP server records what the mirror cluster receives.
 */
class RequestMirrorTest {

    /** Routes to {@code primary} mirroring to {@code mirror} (all, half, by header), a dead port, or a missing cluster. */
    static Bootstraps config(int primary, int mirror, int dead) {
        return Bootstraps.http()
                .routeYaml("{ match: { prefix: /half }, route: { cluster: primary, request_mirror_policies: ["
                        + "{ cluster: mirror, runtime_fraction: { default_value: { numerator: 50 } } }] } }")
                .routeYaml("{ match: { prefix: /dead }, route: { cluster: primary, request_mirror_policies: [ { cluster: dead } ] } }")
                .routeYaml("{ match: { prefix: /missing }, route: { cluster: primary, request_mirror_policies: [ { cluster: nowhere } ] } }")
                .routeYaml("{ match: { prefix: /header }, route: { cluster: primary,"
                        + " request_mirror_policies: [ { cluster_header: x-mirror-cluster } ] } }")
                .route("/plain", "primary")
                .routeYaml("{ match: { prefix: / }, route: { cluster: primary, request_mirror_policies: [ { cluster: mirror } ] } }")
                .cluster("primary", primary)
                .cluster("mirror", mirror)
                .cluster("dead", dead);
    }

    /** What the mirror's server received, one line per complete request: method, uri, Host, body. */
    static final class Recorder implements AutoCloseable {
        final List<String> seen = new CopyOnWriteArrayList<>();
        /** Requests for {@code /hold...} wait here after being recorded. */
        final CountDownLatch release = new CountDownLatch(1);
        private final ExecutorService executor = Executors.newCachedThreadPool();
        private final HttpServer server;

        Recorder() throws IOException {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.setExecutor(executor);
            server.createContext("/", exchange -> {
                try (InputStream in = exchange.getRequestBody()) {
                    String body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                    String uri = exchange.getRequestURI().toString();
                    seen.add(exchange.getRequestMethod() + ' ' + uri + ' ' + exchange.getRequestHeaders().getFirst("Host")
                             + ' ' + (body.length() > 100 ? body.length() + " bytes" : body));
                    if (uri.startsWith("/hold")) {
                        release.await(20, TimeUnit.SECONDS);
                    }
                    byte[] answer = "mirror answer".getBytes(StandardCharsets.UTF_8);
                    exchange.sendResponseHeaders(200, answer.length);
                    exchange.getResponseBody().write(answer);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    exchange.close();
                }
            });
            server.start();
        }

        int port() {
            return server.getAddress().getPort();
        }

        @Override
        public void close() {
            release.countDown();
            server.stop(0);
            executor.shutdownNow();
        }
    }

    private TestBackend primary;
    private Recorder mirror;
    private ProxyFixture proxy;

    @BeforeEach
    void start() throws Exception {
        primary = TestBackend.start("primary");
        mirror = new Recorder();
        int dead;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            dead = s.getLocalPort(); // closed again: nothing listens there
        }
        proxy = config(primary.port(), mirror.port(), dead).start(2);
    }

    @AfterEach
    void stop() {
        proxy.close();
        mirror.close();
        primary.close();
    }

    @Test
    void getAndPostAreMirroredWithShadowHost(@TempDir Path dir) throws Exception {
        Curl.Result get = Curl.run("-H", "Host: reviews:9080", proxy.url("/get?x=1"));
        assertEquals(200, get.status);
        assertEquals("primary", get.header("x-backend"), "the client sees the primary's response only");
        assertTrue(get.body.contains("header host=reviews:9080"), get.body);
        Poll.until(() -> mirror.seen.size() == 1, "the mirror receives the GET");
        assertEquals("GET /get?x=1 reviews-shadow:9080 ", mirror.seen.get(0));

        Curl.Result post = Curl.run("-H", "Host: reviews", "--data-binary", "hello mirror", proxy.url("/post"));
        assertEquals(200, post.status);
        assertTrue(post.body.contains("method=POST") && post.body.contains("body-bytes=12"), post.body);
        Poll.until(() -> mirror.seen.size() == 2, "the mirror receives the POST");
        assertEquals("POST /post reviews-shadow hello mirror", mirror.seen.get(1));

        // a streamed (chunked) body of several reads reaches both whole
        Path big = dir.resolve("big");
        Files.write(big, "y".repeat(300_000).getBytes(StandardCharsets.US_ASCII));
        Curl.Result chunked = Curl.run("-H", "Host: reviews", "-H", "Transfer-Encoding: chunked",
                "--data-binary", "@" + big, proxy.url("/sink"));
        assertEquals("received 300000\n", chunked.body);
        Poll.until(() -> mirror.seen.size() == 3, "the mirror receives the chunked POST");
        assertEquals("POST /sink reviews-shadow 300000 bytes", mirror.seen.get(2));

        Poll.until(() -> proxy.counter("cluster.mirror.upstream_rq_2xx") == 3, "mirror responses are read");
        assertEquals(3, proxy.counter("cluster.mirror.upstream_rq_total"));
        assertEquals(3, proxy.counter("cluster.primary.upstream_rq_total"), "one request each to the primary");

        assertEquals(200, Curl.run(proxy.url("/plain")).status);
        assertEquals(3, proxy.counter("cluster.mirror.upstream_rq_total"), "a route without policy mirrors nothing");
    }

    @Test
    void http2RequestIsMirroredWithShadowAuthority() throws Exception {
        Curl.Result r = Curl.run("--http2-prior-knowledge", "-H", "Host: reviews:9080", "--data-binary", "over h2",
                proxy.url("/h2"));
        assertEquals(200, r.status);
        assertEquals("HTTP/2", r.httpVersion);
        assertEquals("primary", r.header("x-backend"));
        Poll.until(() -> mirror.seen.size() == 1, "the mirror receives the HTTP/2 request");
        assertEquals("POST /h2 reviews-shadow:9080 over h2", mirror.seen.get(0));
    }

    @Test
    void clusterHeaderNamesTheMirror() throws Exception {
        assertEquals(200, Curl.run(proxy.url("/header/none")).status);
        assertEquals(200, Curl.run("-H", "x-mirror-cluster: mirror", proxy.url("/header/yes")).status);
        Poll.until(() -> mirror.seen.size() == 1, "the mirror named by the header receives the request");
        assertTrue(mirror.seen.get(0).startsWith("GET /header/yes "), mirror.seen.toString());
        assertEquals(1, proxy.counter("cluster.mirror.upstream_rq_total"));
    }

    @Test
    void fiftyPercentMirrorsAboutHalf() throws Exception {
        int n = 200;
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        for (int i = 0; i < n; i++) {
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(proxy.url("/half/" + i))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
        }
        Poll.until(() -> proxy.gauge("cluster.mirror.upstream_rq_active") == 0
                         && mirror.seen.size() == proxy.counter("cluster.mirror.upstream_rq_total"),
                "every mirrored request arrived");
        int mirrored = mirror.seen.size();
        // binomial(200, 0.5): mean 100, sd ~7.1; [60, 140] is more than 5 sd either side
        assertTrue(mirrored >= 60 && mirrored <= 140, "mirrored " + mirrored + " of " + n);
        assertEquals(n, primary.requests.get(), "every request reached the primary");
    }

    @Test
    void slowMirrorDoesNotHoldTheResponse() throws Exception {
        Curl.Result r = Curl.run("--data-binary", "slow", proxy.url("/hold"));
        assertEquals(200, r.status);
        assertEquals("primary", r.header("x-backend"));
        Poll.until(() -> mirror.seen.size() == 1, "the mirror received the request");
        assertEquals(1, mirror.release.getCount(), "the client got its answer while the mirror still holds its copy");
        assertEquals(1, proxy.gauge("cluster.mirror.upstream_rq_active"));
        mirror.release.countDown();
        Poll.until(() -> proxy.counter("cluster.mirror.upstream_rq_2xx") == 1, "the late mirror response is read");
        Poll.until(() -> proxy.gauge("cluster.mirror.upstream_rq_active") == 0, "the mirror stream ends");
    }

    @Test
    void deadMirrorDoesNotAffectTheResponse() throws Exception {
        Curl.Result r = Curl.run("--data-binary", "to the dead", proxy.url("/dead"));
        assertEquals(200, r.status);
        assertTrue(r.body.contains("body-bytes=11"), r.body);
        Poll.until(() -> proxy.counter("cluster.dead.upstream_cx_connect_fail") >= 1, "the mirror's connect fails");
        Poll.until(() -> proxy.gauge("cluster.dead.upstream_rq_active") == 0, "the mirror stream ends");
        assertEquals(0, proxy.counter("cluster.dead.upstream_rq_retry"), "a mirror is never retried");
        assertEquals(200, Curl.run(proxy.url("/dead")).status, "and the next request is fine too");
    }

    @Test
    void missingMirrorClusterIsCounted() throws Exception {
        Curl.Result r = Curl.run(proxy.url("/missing"));
        assertEquals(200, r.status);
        assertEquals("primary", r.header("x-backend"));
        assertEquals(1, proxy.counter("http.ingress.shadow_cluster_not_found"));
    }

    @Test
    void clientGoingAwayMidBodyResetsTheMirror() throws Exception {
        try (Socket client = new Socket("127.0.0.1", proxy.port())) {
            OutputStream out = client.getOutputStream();
            out.write(("POST /partial HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n" + "z".repeat(10))
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            Poll.until(() -> proxy.counter("cluster.mirror.upstream_rq_total") == 1, "the mirror stream starts");
        }
        Poll.until(() -> proxy.gauge("cluster.mirror.upstream_rq_active") == 0, "the mirror stream is reset");
        assertEquals(List.of(), mirror.seen, "the mirror never gets a complete request");
    }

    @Test
    void bodyOverTheLimitAbandonsTheMirrorOnly(@TempDir Path dir) throws Exception {
        Path big = dir.resolve("big");
        int size = (int) HttpConnectionManagerConfig.RETRY_BUFFER_LIMIT + 512 * 1024;
        Files.write(big, new byte[size]);
        Curl.Result r = Curl.run("--data-binary", "@" + big, proxy.url("/sink"));
        assertEquals("received " + size + "\n", r.body, "the primary gets the whole body");
        assertEquals(1, proxy.counter("http.ingress.shadow_buffer_overflow"));
        Poll.until(() -> proxy.gauge("cluster.mirror.upstream_rq_active") == 0, "the mirror stream is reset");
        assertEquals(List.of(), mirror.seen, "the mirror never gets a complete request");
    }
}
