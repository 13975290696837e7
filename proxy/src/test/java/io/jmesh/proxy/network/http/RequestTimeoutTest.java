package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.jmesh.proxy.testing.Bootstraps;
import io.jmesh.proxy.testing.ProxyFixture;
import io.jmesh.proxy.testing.RawBackend;
import io.jmesh.proxy.testing.RawHttp;

/**
 * {@code request_timeout} starts at the first byte of the request (Envoy), so a client that sends its headers
 * slowly is timed out; {@code request_headers_timeout} bounds the headers alone. Both answer 408 and close, and
 * count {@code downstream_rq_timeout} / {@code downstream_rq_header_timeout}.
 */
class RequestTimeoutTest {

    private RawBackend backend;
    private ProxyFixture proxy;

    private void start(String field, String value) throws Exception {
        backend = RawBackend.start();
        proxy = Bootstraps.http().hcm(field, value).route("/", "backend").cluster("backend", backend.port()).start();
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

    /** Sends a request line and one header, never the end of the headers; reads what the proxy answers. */
    private RawHttp.Response slowHeaders() throws Exception {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            out.write("GET / HTTP/1.1\r\nHost: a\r\n".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            return RawHttp.read(in, true);
        }
    }

    @Test
    void requestTimeoutStartsAtFirstByte() throws Exception {
        start("request_timeout", "0.3s");
        RawHttp.Response r = slowHeaders();
        assertEquals(408, r.status, r.toString());
        assertEquals("request timeout", r.body);
        assertTrue(r.closed);
        assertEquals(1, proxy.counter("http.ingress.downstream_rq_timeout"));
        assertEquals("", backend.received());
    }

    @Test
    void requestHeadersTimeout() throws Exception {
        start("request_headers_timeout", "0.3s");
        RawHttp.Response r = slowHeaders();
        assertEquals(408, r.status, r.toString());
        assertEquals("request header timeout", r.body);
        assertTrue(r.closed);
        assertEquals(1, proxy.counter("http.ingress.downstream_rq_header_timeout"));
        assertEquals(0, proxy.counter("http.ingress.downstream_rq_timeout"));
        assertEquals("", backend.received());
    }

    @Test
    void requestTimeoutCoversSlowBody() throws Exception {
        start("request_timeout", "0.3s");
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
            s.setSoTimeout(5000);
            s.getOutputStream().write("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc"
                    .getBytes(StandardCharsets.ISO_8859_1));
            RawHttp.Response r = RawHttp.read(s.getInputStream(), true);
            assertEquals(408, r.status, r.toString());
            assertTrue(r.closed);
        }
        assertEquals(0, backend.requests());
    }

    @Test
    void keepAliveConnectionIsNotTimedOutBetweenRequests() throws Exception {
        start("request_headers_timeout", "0.3s");
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), proxy.port())) {
            s.setSoTimeout(5000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            out.write("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            assertEquals(200, RawHttp.read(in, false).status);
            // A slow-header request on a second connection, started after the first went idle, times out;
            // the idle connection, whose timers would have fired first had they been armed, still works.
            RawHttp.Response slow = slowHeaders();
            assertEquals(408, slow.status);
            out.write("GET /2 HTTP/1.1\r\nHost: a\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            assertEquals(200, RawHttp.read(in, false).status);
        }
        assertEquals(1, proxy.counter("http.ingress.downstream_rq_header_timeout"));
    }
}
