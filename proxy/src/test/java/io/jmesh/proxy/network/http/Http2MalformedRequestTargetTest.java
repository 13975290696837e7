package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.DataInputStream;
import java.net.Socket;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.testing.ProxyFixture;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Settings;

/**
 * An HTTP/2 request with malformed pseudo-headers (RFC 9113 §8.3.1: a {@code :path} holding a space or a line
 * break, no {@code :method} or one that is not a token, no {@code :path}) is reset with PROTOCOL_ERROR; nothing is
 * forwarded and the next stream of the connection is served. (Found by Http2FrameFuzzTest: such requests made
 * Netty's HTTP/2-to-HTTP/1 conversion leak a buffer per stream.)
 */
class Http2MalformedRequestTargetTest {

    @Test
    void malformedPseudoHeadersResetOnlyThatStream() throws Exception {
        RecordingUpstream upstream = RecordingUpstream.start();
        try (ProxyFixture proxy = ProxyFixture.start(Http1RequestFuzzTest.CONFIG,
                Map.of("CODEC", "HTTP2", "UPSTREAM", upstream.port()));
             Socket s = new Socket("127.0.0.1", proxy.port())) {
            byte[] frames = Http2FuzzSeeds.bytes((w, ctx) -> {
                w.writeSettings(ctx, new Http2Settings(), ctx.newPromise());
                for (int i = 0; i < 20; i++) {
                    DefaultHttp2Headers h = new DefaultHttp2Headers(false);
                    switch (i % 5) {
                        case 0 -> h.method("GET").path("/a b");
                        case 1 -> h.method("GET").path("/a\r\nx: y");
                        case 2 -> h.path("/no-method");
                        case 3 -> h.method("G{T").path("/bad-method");
                        default -> h.method("GET"); // no :path
                    }
                    w.writeHeaders(ctx, 1 + 2 * i, h.scheme("http").authority("x"), 0, true, ctx.newPromise());
                }
                w.writeHeaders(ctx, 41, Http2FuzzSeeds.get("GET", "/ok"), 0, true, ctx.newPromise());
            });
            s.getOutputStream().write(Http2FrameFuzzTest.withPreface(frames));
            s.setSoTimeout(10_000);
            DataInputStream in = new DataInputStream(s.getInputStream());
            int resets = 0;
            boolean okHeaders = false;
            while (!okHeaders) {
                int len = in.readUnsignedShort() << 8 | in.readUnsignedByte();
                int type = in.readUnsignedByte();
                in.readUnsignedByte();
                int stream = in.readInt() & 0x7fffffff;
                byte[] payload = in.readNBytes(len);
                if (type == 3) { // RST_STREAM
                    int code = (payload[0] & 0xff) << 24 | (payload[1] & 0xff) << 16 | (payload[2] & 0xff) << 8
                               | payload[3] & 0xff;
                    assertEquals(Http2Error.PROTOCOL_ERROR.code(), code, "RST_STREAM of stream " + stream);
                    resets++;
                } else if (type == 1 && stream == 41) {
                    okHeaders = true;
                }
            }
            assertEquals(20, resets);
            assertEquals(20, proxy.counter("http2.rx_messaging_error"));
            // The response headers of stream 41 came after the upstream answered it.
            assertEquals("[GET /ok body=0B]", upstream.received().toString());
        } finally {
            upstream.close();
        }
    }
}
