package io.jmesh.proxy.network.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;

import com.code_intelligence.jazzer.api.BugDetectors;
import com.code_intelligence.jazzer.junit.FuzzTest;

import io.jmesh.proxy.testing.ProxyFixture;

/**
 * Fuzzes the server-side HTTP/2 pipeline of the proxy ({@code codec_type: HTTP2}, prior knowledge), in process:
 * the client connection preface and then fuzzer bytes (frames: SETTINGS, HEADERS with HPACK, DATA, RST_STREAM,
 * WINDOW_UPDATE, GOAWAY, CONTINUATION, ...) are written on a real connection to a listener routed to a recording
 * upstream. Properties: no warning or error logged (no exception escapes to Netty's pipeline tail), everything
 * the connection started ends within 10 s of the client closing (no hang), no buffer leak (Netty's detector),
 * and every request that reaches the upstream carries a method that the input spells out.
 * Seeds: {@code Http2FrameFuzzTestInputs/frames/}, written by {@link Http2FuzzSeeds}.
 */
class Http2FrameFuzzTest {

    static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private static RecordingUpstream upstream;
    private static ProxyFixture proxy;
    private static LogWatch log;

    /**
     * Started on the first input rather than in {@code @BeforeAll}: Jazzer installs its agent when the fuzz test
     * starts, and retransforming the classes of a proxy already serving made it stall.
     */
    private static void start() throws Exception {
        if (proxy != null) {
            return;
        }
        log = LogWatch.install();
        upstream = RecordingUpstream.start();
        proxy = ProxyFixture.start(Http1RequestFuzzTest.CONFIG, Map.of("CODEC", "HTTP2", "UPSTREAM", upstream.port()), 1);
        Http1RequestFuzzTest.warmUp(proxy, upstream, withPreface(WARM_UP));
    }

    /** SETTINGS, then HEADERS (END_STREAM, END_HEADERS) of {@code GET /a} on stream 1 (the "get" seed). */
    private static final byte[] WARM_UP = java.util.HexFormat.of().parseHex(
            "000000040000000000" + "0000190105000000018244022f6186410b6578616d706c652e636f6d7a0466757a7a");

    static byte[] withPreface(byte[] input) {
        byte[] bytes = new byte[PREFACE.length + input.length];
        System.arraycopy(PREFACE, 0, bytes, 0, PREFACE.length);
        System.arraycopy(input, 0, bytes, PREFACE.length, input.length);
        return bytes;
    }

    @AfterAll
    static void stop() {
        // (nothing to close when no input ran)
        if (proxy != null) {
            proxy.close();
        }
        if (upstream != null) {
            upstream.close();
        }
        if (log != null) {
            log.close();
        }
    }

    /** The HEADERS frames with END_HEADERS on client stream ids: requests the proxy may start (to know when to stop). */
    static int headersFrames(byte[] in) {
        int n = 0;
        for (int i = 0; i + 9 <= in.length; ) {
            int len = (in[i] & 0xff) << 16 | (in[i + 1] & 0xff) << 8 | in[i + 2] & 0xff;
            int type = in[i + 3];
            int flags = in[i + 4];
            int stream = (in[i + 5] & 0x7f) << 24 | (in[i + 6] & 0xff) << 16 | (in[i + 7] & 0xff) << 8 | in[i + 8] & 0xff;
            if (type == 1 && (flags & 0x4) != 0 && (stream & 1) == 1) {
                n++;
            }
            i += 9 + len;
        }
        return n;
    }

    @FuzzTest
    void frames(byte[] input) throws Exception {
        byte[] bytes = withPreface(input);
        // The proxy and this test connect on loopback only; Jazzer's SSRF detector is told so.
        BugDetectors.allowNetworkConnections((host, port) -> host.equals("127.0.0.1") || host.equals("localhost"));
        start();
        log.reset();
        Http1RequestFuzzTest.exchange(proxy, "fuzz", bytes, headersFrames(input));
        Http1RequestFuzzTest.quiesce(proxy);
        upstream.sync();
        String text = new String(input, StandardCharsets.ISO_8859_1);
        for (RecordingUpstream.Received r : List.copyOf(upstream.received())) {
            // HPACK's static table names GET and POST; any other method is spelled out as a literal.
            if (!r.method().equals("GET") && !r.method().equals("POST") && !text.contains(r.method())) {
                throw new AssertionError("forwarded a request with a method the input does not hold: " + r);
            }
        }
        upstream.received().clear();
        assertEquals(List.of(), log.problems(), "the proxy logged a warning or an error");
    }
}
