package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.H2FrameClient;
import io.jmesh.proxy.testing.Poll;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.RawBackend;
import io.jmesh.proxy.testing.TestBackend;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;

/**
 * HTTP/2 → HTTP/1.1 smuggling and HTTP/2 abuse: an h2c client at frame level ({@link H2FrameClient}) sends
 * what curl refuses to; the backend is a {@link RawBackend} recording the exact HTTP/1.1 bytes it got. A
 * malformed request must be reset (RFC 9113 section 8.2.1) with nothing forwarded.
 */
class Http2SmugglingTest {

    private static final String RESET_PROTOCOL_ERROR = "reset:" + Http2Error.PROTOCOL_ERROR.code();

    private RawBackend backend;
    private ProxyFixture proxy;
    private H2FrameClient client;

    @BeforeEach
    void start() throws Exception {
        backend = RawBackend.start();
        proxy = Bootstraps.http().route("/", "backend").cluster("backend", backend.port()).start();
        client = new H2FrameClient(proxy.port());
    }

    @AfterEach
    void stop() throws Exception {
        if (client != null) {
            client.close();
        }
        if (proxy != null) {
            proxy.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    private void assertResetAndNothingForwarded(Http2Headers h) throws Exception {
        int before = backend.requests();
        H2FrameClient.Stream s = client.open().headers(h, true);
        assertEquals(RESET_PROTOCOL_ERROR, s.next());
        // The connection stays usable, and the next request is the first the backend sees.
        H2FrameClient.Stream ok = client.open().headers(H2FrameClient.headers("GET", "/ok"), true);
        assertEquals("headers:200", ok.next());
        assertEquals(before + 1, backend.requests(), backend.received());
        assertFalse(backend.received().contains("smuggled"), backend.received());
        assertFalse(backend.received().contains("injected"), backend.received());
    }

    @Test
    void validRequestIsForwarded() throws Exception {
        H2FrameClient.Stream s = client.open().headers(H2FrameClient.headers("GET", "/a").add("x-a", "b"), true);
        assertEquals("headers:200", s.next());
        assertEquals(1, backend.requests());
    }

    @Test
    void crLfInValueIsReset() throws Exception {
        assertResetAndNothingForwarded(H2FrameClient.headers("GET", "/")
                .add("x-a", "a\r\nx-injected: 1\r\n\r\nGET /smuggled HTTP/1.1\r\nhost: a"));
        assertEquals(1, proxy.counter("http2.rx_messaging_error"));
    }

    /** Header blocks RFC 9113 section 8.2 calls malformed, each reset with nothing forwarded. */
    static Stream<Arguments> malformedHeaders() {
        return Stream.of(
                malformed("lf in value", "x-a", "a\nx-injected: 1"),
                malformed("nul in value", "x-a", "a\0injected"),
                malformed("leading whitespace", "x-a", " injected"),
                malformed("trailing whitespace", "x-b", "injected\t"),
                malformed("uppercase name", "X-Injected", "1"),
                malformed("crlf in name", "x-a\r\nx-injected", "1"),
                malformed("connection", "connection", "x-injected"),
                malformed("upgrade", "upgrade", "injected"),
                malformed("te other than trailers", "te", "gzip"),
                Arguments.of(Named.of("transfer-encoding",
                        H2FrameClient.headers("POST", "/").add("transfer-encoding", "chunked"))));
    }

    private static Arguments malformed(String name, String header, String value) {
        return Arguments.of(Named.of(name, H2FrameClient.headers("GET", "/").add(header, value)));
    }

    @ParameterizedTest
    @MethodSource("malformedHeaders")
    void malformedHeaderIsReset(Http2Headers h) throws Exception {
        assertResetAndNothingForwarded(h);
    }

    @Test
    void crLfInPathIsReset() throws Exception {
        assertResetAndNothingForwarded(H2FrameClient.headers("GET", "/ HTTP/1.1\r\nx-injected: 1\r\nx:"));
    }

    @Test
    void spaceInMethodIsReset() throws Exception {
        assertResetAndNothingForwarded(H2FrameClient.headers("GET /smuggled HTTP/1.1\r\n", "/"));
    }

    @Test
    void tooManyHeadersAreReset() throws Exception {
        Http2Headers h = H2FrameClient.headers("GET", "/");
        for (int i = 0; i < 101; i++) {
            h.add("x-h" + i, "injected");
        }
        H2FrameClient.Stream s = client.open().headers(h, true);
        assertEquals("reset:" + Http2Error.INTERNAL_ERROR.code(), s.next());
        assertEquals(1, proxy.counter("http2.header_overflow"));
        assertEquals("", backend.received());
    }

    @Test
    void dataLongerThanContentLengthIsResetAndNotSmuggled() throws Exception {
        H2FrameClient.Stream s = client.open()
                .headers(H2FrameClient.headers("POST", "/").add("content-length", "3"), false)
                .data("abcGET /smuggled HTTP/1.1\r\nhost: a\r\n\r\n", true);
        assertEquals(RESET_PROTOCOL_ERROR, s.next());
        Poll.until(() -> backend.closedConnections() == backend.connections(), "upstream connections closed");
        assertEquals(0, backend.requests(), backend.received());
        assertFalse(backend.received().contains("smuggled"), backend.received());
    }

    @Test
    void dataShorterThanContentLengthIsResetAndNothingCompleteForwarded() throws Exception {
        H2FrameClient.Stream s = client.open()
                .headers(H2FrameClient.headers("POST", "/").add("content-length", "10"), false)
                .data("abc", true);
        assertEquals(RESET_PROTOCOL_ERROR, s.next());
        Poll.until(() -> backend.closedConnections() == backend.connections(), "upstream connections closed");
        assertEquals(0, backend.requests(), backend.received());
    }

    /** Rapid reset (CVE-2023-44487): streams opened and reset at once until the proxy closes with ENHANCE_YOUR_CALM. */
    @Test
    void rapidResetClosesWithEnhanceYourCalm() throws Exception {
        try (TestBackend slow = TestBackend.start("slow");
             ProxyFixture p = Bootstraps.http().route("/", "slow").cluster("slow", slow.port()).start();
             H2FrameClient c = new H2FrameClient(p.port())) {
            List<H2FrameClient.Stream> streams = new ArrayList<>();
            // Exactly one more than the limit (200 in 30 s): nothing arrives after the proxy closes, so its
            // close is a FIN after the GOAWAY, never a TCP reset that could discard the GOAWAY at the client.
            for (int i = 0; i < 201 && c.connection().isActive(); i++) {
                H2FrameClient.Stream s;
                try {
                    s = c.open().headers(H2FrameClient.headers("POST", "/delay/10000"), false);
                } catch (Exception e) { // Netty rethrows the open failure unchecked
                    if (e instanceof java.nio.channels.ClosedChannelException) {
                        break; // the proxy closed the connection
                    }
                    throw e;
                }
                s.channel.close(); // RST_STREAM(CANCEL) before any response
                streams.add(s);
            }
            assertEquals(201, streams.size());
            String event = c.connectionEvents.poll(5, TimeUnit.SECONDS);
            assertEquals("goaway:" + Http2Error.ENHANCE_YOUR_CALM.code(), event, c.goAwayDebugData);
        }
    }
}
