package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Curl;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.TestBackend;

/** The HTTP data plane end to end: curl → jmesh proxy → a real backend, HTTP/1.1 and HTTP/2. */
class HttpProxyTest {

    /** Routes for each behaviour under test to {@code backend} (HTTP/1.1 and h2c), a dead port and an empty cluster. */
    static Bootstraps config(int backend, int dead) {
        return Bootstraps.http()
                .hcm("max_request_headers_kb", "8")
                .hcm("upgrade_configs", "[{ upgrade_type: websocket }]")
                .virtualHost("strict", "strict.example", "strict.example:*")
                .route("/only", "backend")
                .virtualHost("backend", "*")
                .routeYaml("{ match: { prefix: /h2/ }, route: { cluster: backend_h2, prefix_rewrite: / } }")
                .routeYaml("{ match: { prefix: /dead },"
                        + " route: { cluster: dead, retry_policy: { retry_on: connect-failure, num_retries: 2 } } }")
                .route("/empty", "empty")
                .route("/missing", "no_such_cluster")
                .routeYaml("{ match: { prefix: /retry }, route: { cluster: backend, retry_policy: { retry_on: 5xx, num_retries: 2 } } }")
                .routeYaml("{ match: { prefix: /pertry/delay/ }, route: { cluster: backend, prefix_rewrite: /delay/, timeout: 5s,"
                        + " retry_policy: { retry_on: 5xx, num_retries: 1, per_try_timeout: 0.2s } } }")
                .routeYaml("{ match: { prefix: /delay/ }, route: { cluster: backend, timeout: 0.3s } }")
                .routeYaml("{ match: { prefix: /direct }, direct_response: { status: 418, body: { inline_string: \"I am a teapot\" } } }")
                .routeYaml("{ match: { prefix: /nowhere }, direct_response: { status: 200 } }")
                .routeYaml("{ match: { prefix: /, headers: [{ name: x-blocked, present_match: true }] }, direct_response: { status: 403 } }")
                .route("/", "backend")
                .cluster("backend", backend)
                .http2Cluster("backend_h2", backend)
                .cluster("dead", dead)
                .cluster("empty");
    }

    static TestBackend backend;
    static ProxyFixture proxy;
    static int deadPort;

    @BeforeAll
    static void start() throws Exception {
        backend = TestBackend.start("b1");
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            deadPort = s.getLocalPort();
        }
        proxy = config(backend.port(), deadPort).start(2);
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    @Test
    void http1GetReachesBackendWithEnvoyHeaders() throws Exception {
        Curl.Result r = Curl.run(proxy.url("/hello?x=1"));
        assertEquals(200, r.status, r.toString());
        assertTrue(r.body.contains("uri=/hello?x=1"), r.body);
        assertTrue(r.body.contains("header x-request-id="), "request id generated: " + r.body);
        assertTrue(r.body.contains("header x-forwarded-proto=http"), r.body);
        assertNotNull(r.header("x-envoy-upstream-service-time"), r.toString());
        assertEquals("envoy", r.header("server"));
        assertEquals("b1", r.header("x-backend"));
    }

    @Test
    void existingRequestIdIsKept() throws Exception {
        Curl.Result r = Curl.run("-H", "x-request-id: abc-123", proxy.url("/id"));
        assertTrue(r.body.contains("header x-request-id=abc-123"), r.body);
    }

    @Test
    void http2PriorKnowledgeDownstreamHttp1Upstream() throws Exception {
        Curl.Result r = Curl.run("--http2-prior-knowledge", proxy.url("/h2pk"));
        assertEquals(200, r.status, r.toString());
        assertEquals("HTTP/2", r.httpVersion);
        assertTrue(r.body.contains("protocol=HTTP/1.1"), r.body);
        assertTrue(r.body.contains("header host=127.0.0.1:" + proxy.port()), r.body);
    }

    @Test
    void h2cUpgrade() throws Exception {
        Curl.Result r = Curl.run("--http2", proxy.url("/upgrade-me"));
        assertEquals(200, r.status, r.toString());
        assertEquals("HTTP/2", r.httpVersion, r.toString());
        assertTrue(r.body.contains("uri=/upgrade-me"), r.body);
    }

    @Test
    void http2UpstreamWithPrefixRewrite() throws Exception {
        Curl.Result r = Curl.run(proxy.url("/h2/rewritten"));
        assertEquals(200, r.status, r.toString());
        assertTrue(r.body.contains("protocol=HTTP/2"), r.body);
        assertTrue(r.body.contains("uri=/rewritten"), r.body);
    }

    @Test
    void http2BothSidesWithBody() throws Exception {
        Curl.Result r = Curl.run("--http2-prior-knowledge", "--data-binary", "0123456789", proxy.url("/h2/post"));
        assertEquals(200, r.status, r.toString());
        assertTrue(r.body.contains("protocol=HTTP/2"), r.body);
        assertTrue(r.body.contains("method=POST"), r.body);
        assertTrue(r.body.contains("body-bytes=10"), r.body);
    }

    @Test
    void noRouteIs404() throws Exception {
        Curl.Result r = Curl.run("-H", "Host: strict.example", proxy.url("/other"));
        assertEquals(404, r.status, r.toString());
        assertEquals(200, Curl.run("-H", "Host: strict.example", proxy.url("/only")).status);
    }

    @Test
    void headerMatchSelectsRoute() throws Exception {
        Curl.Result r = Curl.run("-H", "x-blocked: 1", proxy.url("/x"));
        assertEquals(403, r.status, r.toString());
    }

    @Test
    void directResponse() throws Exception {
        Curl.Result r = Curl.run(proxy.url("/direct"));
        assertEquals(418, r.status);
        assertEquals("I am a teapot", r.body);
    }

    @Test
    void noHealthyUpstreamIs503() throws Exception {
        Curl.Result r = Curl.run(proxy.url("/empty"));
        assertEquals(503, r.status);
        assertEquals("no healthy upstream", r.body);
    }

    @Test
    void unknownClusterIs503() throws Exception {
        Curl.Result r = Curl.run(proxy.url("/missing"));
        assertEquals(503, r.status);
    }

    @Test
    void connectFailureIs503AfterRetries() throws Exception {
        long before = proxy.counter("cluster.dead.upstream_rq_retry");
        Curl.Result r = Curl.run(proxy.url("/dead"));
        assertEquals(503, r.status, r.toString());
        assertTrue(r.body.startsWith("upstream connect error or disconnect/reset before headers"), r.body);
        assertEquals(before + 2, proxy.counter("cluster.dead.upstream_rq_retry"));
    }

    @Test
    void retryOn5xxSucceeds() throws Exception {
        backend.failNext.set(1);
        Curl.Result r = Curl.run(proxy.url("/retry"));
        assertEquals(200, r.status, r.toString());
        assertTrue(proxy.counter("cluster.backend.upstream_rq_retry") >= 1);
    }

    @Test
    void routeTimeoutIs504() throws Exception {
        Curl.Result r = Curl.run(proxy.url("/delay/3000"));
        assertEquals(504, r.status, r.toString());
        assertEquals("upstream request timeout", r.body);
        Curl.Result ok = Curl.run(proxy.url("/delay/10"));
        assertEquals(200, ok.status, "the proxy keeps serving: " + ok);
    }

    @Test
    void perTryTimeoutRetriesThenGivesUp() throws Exception {
        long before = proxy.counter("cluster.backend.upstream_rq_per_try_timeout");
        Curl.Result r = Curl.run(proxy.url("/pertry/delay/2000"));
        assertEquals(504, r.status, r.toString());
        assertEquals(before + 2, proxy.counter("cluster.backend.upstream_rq_per_try_timeout"));
    }

    @Test
    void oversizedHeadersOverHttp2AreRefused() throws Exception {
        Curl.Result r = Curl.run("--http2-prior-knowledge", "-H", "x-big: " + "a".repeat(10 * 1024), proxy.url("/big-h2"));
        assertTrue(r.status == 431 || r.exitCode != 0, "refused: " + r);
        assertEquals(0, backend.byPath.getOrDefault("/big-h2", new java.util.concurrent.atomic.AtomicInteger()).get());
        assertEquals(200, Curl.run("--http2-prior-knowledge", proxy.url("/after-big-h2")).status);
    }

    @Test
    void expect100ContinueWithBody() throws Exception {
        Curl.Result r = Curl.run("-H", "Expect: 100-continue", "--data-binary", "x".repeat(2048), proxy.url("/sink"));
        assertEquals(200, r.status, r.toString());
        assertEquals("received 2048\n", r.body);
    }

    @Test
    void chunkedUploadAndDownload() throws Exception {
        Curl.Result r = Curl.run("-H", "Transfer-Encoding: chunked", "--data-binary", "y".repeat(100_000), proxy.url("/sink"));
        assertEquals("received 100000\n", r.body);
        Curl.Result d = Curl.run(proxy.url("/bytes/300000"));
        assertEquals(300_000, d.body.length());
    }

    @Test
    void oversizedHeadersAre431() throws Exception {
        Curl.Result r = Curl.run("-H", "x-big: " + "a".repeat(10 * 1024), proxy.url("/big"));
        assertEquals(431, r.status, r.toString());
        assertEquals(200, Curl.run(proxy.url("/after-big")).status);
    }

    @Test
    void malformedRequestIs400AndClosed() throws Exception {
        String resp = raw("GARBAGE\r\n\r\n");
        assertTrue(resp.startsWith("HTTP/1.1 400"), resp);
        assertEquals(200, Curl.run(proxy.url("/after-garbage")).status);
    }

    @Test
    void pipelinedRequestsAnsweredInOrder() throws Exception {
        String req = "GET /delay/200 HTTP/1.1\r\nHost: a\r\n\r\n"
                + "GET /p2 HTTP/1.1\r\nHost: a\r\n\r\n"
                + "GET /p3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
        String resp = raw(req);
        int a = resp.indexOf("delayed 200");
        int b = resp.indexOf("uri=/p2");
        int c = resp.indexOf("uri=/p3");
        assertTrue(a >= 0 && b > a && c > b, resp);
    }

    @Test
    void upgradePassThrough() throws Exception {
        try (Socket s = new Socket("127.0.0.1", proxy.port())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(("GET /upgrade HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            String head = readUntil(in, "\r\n\r\n");
            assertTrue(head.startsWith("HTTP/1.1 101"), head);
            out.write("ping-through".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            byte[] buf = new byte[12];
            int n = 0;
            while (n < buf.length) {
                int r = in.read(buf, n, buf.length - n);
                if (r < 0) {
                    break;
                }
                n += r;
            }
            assertEquals("ping-through", new String(buf, 0, n, StandardCharsets.US_ASCII));
        }
    }

    @Test
    void statsCountRequests() throws Exception {
        long before = proxy.counter("http.ingress.downstream_rq_total");
        Curl.run(proxy.url("/count"));
        long completedBefore = proxy.counter("http.ingress.downstream_rq_completed");
        assertTrue(proxy.counter("http.ingress.downstream_rq_total") >= before + 1);
        Curl.run(proxy.url("/count-again"));
        // Counted when the stream finishes, just after its last bytes are written: the client can be first.
        io.jmesh.proxy.testing.Poll.until(() -> proxy.counter("http.ingress.downstream_rq_completed") >= completedBefore + 1,
                "downstream_rq_completed counts the request");
        assertTrue(proxy.counter("cluster.backend.upstream_rq_total") >= 1);
    }

    private String raw(String request) throws Exception {
        try (Socket s = new Socket("127.0.0.1", proxy.port())) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            ByteArrayOutputStream bo = new ByteArrayOutputStream();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[8192];
            int n;
            while ((n = in.read(buf)) > 0) {
                bo.write(buf, 0, n);
            }
            return bo.toString(StandardCharsets.ISO_8859_1);
        }
    }

    private static String readUntil(InputStream in, String end) throws Exception {
        StringBuilder sb = new StringBuilder();
        while (!sb.toString().endsWith(end)) {
            int c = in.read();
            if (c < 0) {
                break;
            }
            sb.append((char) c);
        }
        return sb.toString();
    }
}
