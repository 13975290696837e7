package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.RawBackend;
import io.jmesh.proxy.testing.RawHttp;

/**
 * HTTP/1.1 request smuggling and framing attacks against the proxy (codec AUTO, one route to an HTTP/1.1
 * backend). Requests go out on raw sockets; the backend is a {@link RawBackend} that records the exact bytes
 * it got, so each case asserts the status, whether the connection closed, and what reached the upstream.
 */
class Http1SmugglingTest {

    private static final String SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";

    private RawBackend backend;
    private ProxyFixture proxy;

    @BeforeEach
    void start() throws Exception {
        backend = RawBackend.start();
        proxy = Bootstraps.http().route("/", "backend").cluster("backend", backend.port()).start();
    }

    @AfterEach
    void stop() throws Exception {
        if (proxy != null) {
            proxy.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    /** Asserts that the request was refused with {@code status}, the connection closed and nothing went upstream. */
    private void assertRefused(String request, int status) throws Exception {
        RawHttp.Response r = RawHttp.exchange(proxy.port(), request, true);
        assertEquals(status, r.status, r.toString());
        assertTrue(r.closed, "connection closed after " + status);
        assertTrue(r.headers.containsKey("date"), r.toString());
        assertEquals("", backend.received(), "nothing reached the backend");
    }

    /** Waits until the proxy closed every upstream connection, then asserts no complete request reached it. */
    private void assertNoCompleteRequestUpstream() throws Exception {
        Poll.until(() -> backend.closedConnections() == backend.connections(), "upstream connections closed");
        assertEquals(0, backend.requests(), "complete requests the backend saw in: " + backend.received());
        assertFalse(backend.received().contains("/smuggled"), backend.received());
    }

    @Test
    void validChunkedRequestAndPipelinedRequestBothArrive() throws Exception {
        String req = "POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                + "GET /b HTTP/1.1\r\nHost: a\r\n\r\n";
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(req.getBytes(StandardCharsets.ISO_8859_1));
            InputStream in = s.getInputStream();
            assertEquals(200, RawHttp.read(in, false).status);
            assertEquals(200, RawHttp.read(in, false).status);
        }
        assertEquals(2, backend.requests());
    }

    @Test
    void transferEncodingOtherThanChunkedIs501() throws Exception {
        assertRefused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n" + SMUGGLED, 501);
    }

    @Test
    void transferCodingBeforeChunkedIs501() throws Exception {
        assertRefused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501);
    }

    @Test
    void contentLengthWithTransferEncodingIs400() throws Exception {
        assertRefused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "0\r\n\r\n" + SMUGGLED, 400);
    }

    @Test
    void duplicateContentLengthIs400() throws Exception {
        assertRefused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 36\r\n\r\n" + SMUGGLED, 400);
    }

    @Test
    void contentLengthWithSignIs400() throws Exception {
        assertRefused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +36\r\n\r\n" + SMUGGLED, 400);
    }

    @Test
    void negativeContentLengthIs400() throws Exception {
        assertRefused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n" + SMUGGLED, 400);
    }

    @Test
    void contentLengthWithInnerSpaceIs400() throws Exception {
        assertRefused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3 6\r\n\r\n" + SMUGGLED, 400);
    }

    @Test
    void bareLineFeedIs400() throws Exception {
        assertRefused("GET / HTTP/1.1\nHost: a\n\n", 400);
    }

    @Test
    void bareCarriageReturnInValueIs400() throws Exception {
        assertRefused("GET / HTTP/1.1\r\nHost: a\r\nX-A: a\rGET /smuggled HTTP/1.1\r\n\r\n", 400);
    }

    @Test
    void nulInValueIs400() throws Exception {
        assertRefused("GET / HTTP/1.1\r\nHost: a\r\nX-A: a\0b\r\n\r\n", 400);
    }

    /** RFC 9112 section 5.2 lets a server reject obs-fold or replace it with SP: Netty replaces it. */
    @Test
    void obsFoldIsUnfoldedBeforeForwarding() throws Exception {
        RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\nX-A: a\r\n b\r\n\r\n", false);
        assertEquals(200, r.status, r.toString());
        String got = backend.received();
        assertTrue(got.contains("\r\nx-a: a b\r\n") || got.contains("\r\nX-A: a b\r\n"), got);
        assertFalse(got.contains("\r\n b"), got);
    }

    @Test
    void megabyteChunkSizeLineIs400AndNothingCompleteReachesBackend() throws Exception {
        // 1 MB of hex digits, as in the attack run: the decoder gives up after 16 KiB.
        String req = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + "f".repeat(1 << 20) + "\r\n";
        RawHttp.Response r = RawHttp.exchange(proxy.port(), req, true);
        assertEquals(400, r.status, r.toString());
        assertTrue(r.closed);
        assertNoCompleteRequestUpstream();
    }

    @Test
    void overflowingChunkSizeIs400AndNothingCompleteReachesBackend() throws Exception {
        String req = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "FFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n" + SMUGGLED;
        RawHttp.Response r = RawHttp.exchange(proxy.port(), req, true);
        assertEquals(400, r.status, r.toString());
        assertTrue(r.closed);
        assertNoCompleteRequestUpstream();
    }

    @Test
    void invalidChunkSizeAfterValidChunkIs400AndNothingCompleteReachesBackend() throws Exception {
        String req = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "3\r\nabc\r\nzz\r\n0\r\n\r\n" + SMUGGLED;
        RawHttp.Response r = RawHttp.exchange(proxy.port(), req, true);
        assertEquals(400, r.status, r.toString());
        assertTrue(r.closed);
        assertNoCompleteRequestUpstream();
    }

    @Test
    void tooManyHeadersIs431() throws Exception {
        StringBuilder req = new StringBuilder("GET / HTTP/1.1\r\nHost: a\r\n");
        for (int i = 0; i < 5000; i++) {
            req.append("a:b\r\n");
        }
        assertRefused(req.append("\r\n").toString(), 431);
    }

    @Test
    void hundredHeadersPass() throws Exception {
        StringBuilder req = new StringBuilder("GET / HTTP/1.1\r\nHost: a\r\n");
        for (int i = 0; i < 99; i++) {
            req.append("x-h").append(i).append(": v\r\n");
        }
        RawHttp.Response r = RawHttp.exchange(proxy.port(), req.append("\r\n").toString(), false);
        assertEquals(200, r.status, r.toString());
        assertEquals(1, backend.requests());
    }

    @Test
    void h2cUpgradeWithBodyForwardsOneRequest() throws Exception {
        String body = SMUGGLED;
        String req = "POST /up HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                + "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            out.write(req.getBytes(StandardCharsets.ISO_8859_1));
            Poll.until(() -> backend.requests() >= 1, "the request reached the backend");
        }
        String got = backend.received();
        assertEquals(1, backend.requests(), got);
        assertTrue(got.startsWith("POST /up HTTP/1.1\r\n"), got);
        // Exactly one request: its head, then the body as body.
        assertEquals(got.indexOf("\r\n\r\n") + 4 + body.length(), got.length(), got);
        assertTrue(got.endsWith("\r\n\r\n" + body), got);
    }

    /** An h2c upgrade request gets the HTTP/1 checks: the upgrade is refused and the request answered as HTTP/1. */
    @Test
    void h2cUpgradeWithUnknownTransferEncodingIs501() throws Exception {
        assertRefused("POST /up HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                + "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nTransfer-Encoding: xchunked\r\n\r\n" + SMUGGLED, 501);
    }

    @Test
    void h2cUpgradeWithTooManyHeadersIs431() throws Exception {
        StringBuilder req = new StringBuilder("GET /up HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                + "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n");
        for (int i = 0; i < 5000; i++) {
            req.append("a:b\r\n");
        }
        assertRefused(req.append("\r\n").toString(), 431);
    }

    @Test
    void dateHeaderIsImfFixdate() throws Exception {
        RawHttp.Response r = RawHttp.exchange(proxy.port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false);
        assertTrue(r.headers.get("date").matches("[A-Z][a-z]{2}, \\d{2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} GMT"),
                r.headers.get("date"));
    }
}
