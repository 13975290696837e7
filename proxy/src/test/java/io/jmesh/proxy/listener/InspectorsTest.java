package io.jmesh.proxy.listener;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.jmesh.proxy.network.FilterStatus;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/** The inspectors on byte sequences: partial input, early "not this protocol", limits, and what they record. */
class InspectorsTest {

    private final FakeListenerFilterCallbacks cb = new FakeListenerFilterCallbacks(
            new InetSocketAddress("127.0.0.1", 15006), new InetSocketAddress("127.0.0.1", 40000));
    private final ByteBuf in = Unpooled.buffer();

    @AfterEach
    void release() {
        in.release();
        cb.channel.finishAndReleaseAll();
    }

    private FilterStatus add(ListenerFilter f, String ascii) {
        in.writeCharSequence(ascii, StandardCharsets.ISO_8859_1);
        cb.peeked = in;
        return f.onData(cb, in);
    }

    @Test
    void httpInspectorWaitsForTheRequestLineThenNamesTheVersion() {
        assertEquals(FilterStatus.STOP_ITERATION, HttpInspector.INSTANCE.onAccept(cb));
        assertEquals(FilterStatus.STOP_ITERATION, add(HttpInspector.INSTANCE, "GE"));
        assertEquals(FilterStatus.STOP_ITERATION, add(HttpInspector.INSTANCE, "T /a?b=c HTTP/1."));
        assertEquals(FilterStatus.CONTINUE, add(HttpInspector.INSTANCE, "1\r\nHost: x\r\n"));
        assertEquals("http/1.1", cb.info.applicationProtocol());
        assertEquals(List.of("http/1.1"), cb.info.requestedApplicationProtocols());
        assertEquals(0, in.readerIndex(), "peeked, not consumed");
    }

    @Test
    void httpInspectorKnowsH2cPrefaceFromItsPrefix() {
        assertEquals(FilterStatus.STOP_ITERATION, add(HttpInspector.INSTANCE, "PRI * HTTP/2.0\r\n"));
        assertEquals(FilterStatus.CONTINUE, add(HttpInspector.INSTANCE, "\r\nSM\r\n\r\n"));
        assertEquals("h2c", cb.info.applicationProtocol());
    }

    @Test
    void httpInspectorGivesUpEarlyOnOtherBytesAndAtItsLimit() {
        assertEquals(FilterStatus.CONTINUE, add(HttpInspector.INSTANCE, "\u0001\u0001"), "not a token character");
        assertNull(cb.info.applicationProtocol());
        in.clear();
        assertEquals(FilterStatus.CONTINUE, add(HttpInspector.INSTANCE, "GET / SPDY/3\r\n"), "not HTTP/1.x");
        assertNull(cb.info.applicationProtocol());
        in.clear();
        assertEquals(FilterStatus.STOP_ITERATION, add(HttpInspector.INSTANCE, "GET /" + "a".repeat(8000)));
        assertEquals(FilterStatus.CONTINUE, add(HttpInspector.INSTANCE, "a".repeat(200)), "no line within 8 KiB");
        assertNull(cb.info.applicationProtocol());
    }

    @Test
    void httpInspectorSkipsTls() {
        cb.info.transportProtocol("tls");
        assertEquals(FilterStatus.CONTINUE, HttpInspector.INSTANCE.onAccept(cb));
    }

    @Test
    void rpcInspectorNamesBoltAndDubbo() {
        assertEquals(FilterStatus.STOP_ITERATION, RpcInspector.INSTANCE.onAccept(cb));
        assertEquals(FilterStatus.STOP_ITERATION, add(RpcInspector.INSTANCE, "\u0001"));
        assertEquals(FilterStatus.CONTINUE, add(RpcInspector.INSTANCE, "\u0001\u0000\u0001"));
        assertEquals("bolt", cb.info.applicationProtocol());
        FakeListenerFilterCallbacks d = new FakeListenerFilterCallbacks(null, null);
        ByteBuf dubbo = Unpooled.wrappedBuffer(new byte[] {(byte) 0xda, (byte) 0xbb, (byte) 0xc2});
        assertEquals(FilterStatus.CONTINUE, RpcInspector.INSTANCE.onData(d, dubbo));
        assertEquals(List.of("dubbo"), d.info.requestedApplicationProtocols());
        FakeListenerFilterCallbacks other = new FakeListenerFilterCallbacks(null, null);
        ByteBuf get = Unpooled.copiedBuffer("GET", StandardCharsets.US_ASCII);
        assertEquals(FilterStatus.CONTINUE, RpcInspector.INSTANCE.onData(other, get));
        assertNull(other.info.applicationProtocol());
        get.release();
        FakeListenerFilterCallbacks sniffed = new FakeListenerFilterCallbacks(null, null);
        sniffed.info.applicationProtocol("http/1.1");
        assertEquals(FilterStatus.CONTINUE, RpcInspector.INSTANCE.onAccept(sniffed), "already known");
    }

    @Test
    void tlsInspectorLeavesPlaintextAloneAndWaitsForAWholeClientHello() {
        assertEquals(FilterStatus.CONTINUE, add(TlsInspector.INSTANCE, "GET / HTTP/1.1\r\n"));
        assertEquals("raw_buffer", cb.info.transportProtocol());
        in.clear();
        // A record header announcing 300 bytes of handshake, of which only some arrived.
        in.writeBytes(new byte[] {0x16, 0x03, 0x01, 0x01, 0x2c, 0x01});
        cb.peeked = in;
        assertEquals(FilterStatus.STOP_ITERATION, TlsInspector.INSTANCE.onData(cb, in));
        assertEquals("raw_buffer", cb.info.transportProtocol());
        assertFalse(cb.info.secure());
    }

    @Test
    void tlsInspectorClosesOnAClientHelloLargerThanOneRecord() {
        io.jmesh.proxy.telemetry.Stats stats = new io.jmesh.proxy.telemetry.Stats();
        TlsInspector f = new TlsInspector(stats);
        in.writeBytes(new byte[] {0x16, 0x03, 0x01, (byte) 0xff, (byte) 0xff, 0x01});
        in.writeZero(ClientHello.MAX_BYTES);
        cb.peeked = in;
        assertEquals(FilterStatus.STOP_ITERATION, f.onData(cb, in));
        assertFalse(cb.channel.isOpen());
        assertEquals(1L, stats.counterValues().get("tls_inspector.client_hello_too_large"));
    }
}
