package io.jmesh.codec.bolt;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.jmesh.codec.internal.Hessian2Reader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.ProtocolDetectionState;
import io.netty.util.ReferenceCountUtil;

class BoltCodecTest {

    private static final String SERVICE = "com.example.HelloService:1.0";
    private EmbeddedChannel ch;

    @AfterEach
    void tearDown() {
        if (ch != null) {
            ch.finishAndReleaseAll();
        }
    }

    private static Map<String, String> sofaHeaders() {
        final Map<String, String> h = new LinkedHashMap<>();
        h.put("sofa_head_target_service", SERVICE);
        h.put("sofa_head_method_name", "sayHello");
        h.put("sofa_head_target_app", "hello-app");
        h.put("service", SERVICE);
        h.put("protocol", "bolt");
        h.put("type", "sync");
        return h;
    }

    /** A frame written field by field from the documented layout, independently of the codec. */
    static byte[] golden(int protocol, int type, int cmd, int requestId, int timeoutOrStatus, boolean crc,
                         String className, Map<String, String> headers, byte[] content) {
        return golden(protocol, 2, crc ? 1 : 0, type, cmd, requestId, timeoutOrStatus, crc, className, headers,
                      content);
    }

    static byte[] golden(int protocol, int ver1, int protocolSwitch, int type, int cmd, int requestId,
                         int timeoutOrStatus, boolean crc, String className, Map<String, String> headers,
                         byte[] content) {
        final ByteBuf b = Unpooled.buffer();
        b.writeByte(protocol);
        if (protocol == 2) {
            b.writeByte(ver1);
        }
        b.writeByte(type);
        b.writeShort(cmd);
        b.writeByte(1); // ver2
        b.writeInt(requestId);
        b.writeByte(1); // hessian2
        if (protocol == 2) {
            b.writeByte(protocolSwitch);
        }
        if (type == 0) {
            b.writeShort(timeoutOrStatus);
        } else {
            b.writeInt(timeoutOrStatus);
        }
        final byte[] cls = className.getBytes(UTF_8);
        final ByteBuf hdr = Unpooled.buffer();
        headers.forEach((k, v) -> {
            hdr.writeInt(k.length()).writeBytes(k.getBytes(UTF_8));
            hdr.writeInt(v.length()).writeBytes(v.getBytes(UTF_8));
        });
        b.writeShort(cls.length);
        b.writeShort(hdr.readableBytes());
        b.writeInt(content.length);
        b.writeBytes(cls).writeBytes(hdr).writeBytes(content);
        hdr.release();
        if (crc) {
            final CRC32 c = new CRC32();
            c.update(ByteBufUtil.getBytes(b));
            b.writeInt((int) c.getValue());
        }
        final byte[] out = ByteBufUtil.getBytes(b);
        b.release();
        return out;
    }

    private static byte[] body() {
        // A stand-in Hessian2 body: the codec never looks inside it.
        return new byte[] { 0x43, 0x05, 'h', 'e', 'l', 'l', 'o', (byte) 0x90, 0x60, 0x01, 'x' };
    }

    private EmbeddedChannel channel() {
        ch = new EmbeddedChannel(new BoltDecoder(), BoltEncoder.INSTANCE);
        return ch;
    }

    private byte[] reencode(BoltMessage msg) {
        assertTrue(ch.writeOutbound(msg));
        final ByteBuf out = ch.readOutbound();
        final byte[] bytes = ByteBufUtil.getBytes(out);
        out.release();
        return bytes;
    }

    @Test
    void decodesV1RequestFromDocumentedLayoutAndWritesSameBytes() {
        final byte[] frame = golden(1, 1, 1, 7, 3000, false, BoltRequest.SOFA_REQUEST_CLASS, sofaHeaders(),
                                    body());
        assertEquals(22 + BoltRequest.SOFA_REQUEST_CLASS.length(), indexOfClassEnd(frame));
        channel().writeInbound(Unpooled.wrappedBuffer(frame));
        final BoltRequest req = ch.readInbound();
        assertEquals(BoltMessage.PROTOCOL_V1, req.protocol());
        assertEquals(7, req.requestId());
        assertEquals(3000, req.timeout());
        assertFalse(req.isOneway());
        assertFalse(req.isHeartbeat());
        assertEquals(BoltRequest.SOFA_REQUEST_CLASS, req.className());
        assertEquals(SERVICE, req.service());
        assertEquals(SERVICE, req.targetService());
        assertEquals("sayHello", req.methodName());
        assertEquals("hello-app", req.targetApp());
        assertEquals(sofaHeaders(), req.headers());
        assertArrayEquals(body(), ByteBufUtil.getBytes(req.content()));
        assertEquals(frame.length, req.frameLength());
        assertArrayEquals(frame, reencode(req));
    }

    private static int indexOfClassEnd(byte[] frame) {
        return 22 + ((frame[14] & 0xff) << 8 | (frame[15] & 0xff));
    }

    @Test
    void decodesV2RequestWithCrcAndResponses() {
        final byte[] req = golden(2, 1, 1, 42, 1000, true, BoltRequest.SOFA_REQUEST_CLASS, sofaHeaders(), body());
        final byte[] resp = golden(2, 0, 2, 42, 0, true, BoltResponse.SOFA_RESPONSE_CLASS, Map.of(), body());
        final byte[] respV1 = golden(1, 0, 2, 43, BoltResponseStatus.SERVER_THREADPOOL_BUSY, false, "", Map.of(),
                                     new byte[0]);
        final ByteBuf all = Unpooled.buffer().writeBytes(req).writeBytes(resp).writeBytes(respV1);
        channel().writeInbound(all);

        final BoltRequest r = ch.readInbound();
        assertEquals(BoltMessage.PROTOCOL_V2, r.protocol());
        assertTrue(r.hasCrc());
        assertEquals(2, r.ver1());
        assertEquals("sayHello", r.methodName());
        assertArrayEquals(req, reencode(r));

        final BoltResponse s = ch.readInbound();
        assertEquals(42, s.requestId());
        assertEquals(BoltResponseStatus.SUCCESS, s.status());
        assertEquals(BoltResponse.SOFA_RESPONSE_CLASS, s.className());
        assertArrayEquals(body(), ByteBufUtil.getBytes(s.content()));
        assertArrayEquals(resp, reencode(s));

        final BoltResponse busy = ch.readInbound();
        assertEquals(BoltResponseStatus.SERVER_THREADPOOL_BUSY, busy.status());
        assertEquals("", busy.className());
        assertEquals(0, busy.content().readableBytes());
        assertArrayEquals(respV1, reencode(busy));
        assertNull(ch.readInbound());
    }

    @Test
    void crcSwitchOnlyCountsWithVer1Two() {
        // ver1 = 1 with the CRC bit set: sofa-bolt writes no CRC and expects none.
        final byte[] noCrc = golden(2, 1, 1, 1, 1, 7, 3000, false, BoltRequest.SOFA_REQUEST_CLASS, sofaHeaders(),
                                    body());
        final byte[] withCrc = golden(2, 2, 1, 1, 1, 8, 3000, true, BoltRequest.SOFA_REQUEST_CLASS, sofaHeaders(),
                                      body());
        channel().writeInbound(Unpooled.wrappedBuffer(noCrc, withCrc));
        final BoltRequest a = ch.readInbound();
        assertFalse(a.hasCrc());
        assertEquals(1, a.ver1());
        assertEquals(7, a.requestId());
        assertArrayEquals(golden(2, 1, 1, 1, 1, 70, 3000, false, BoltRequest.SOFA_REQUEST_CLASS, sofaHeaders(),
                                 body()), reencode(a.withRequestId(70)));
        final BoltRequest b = ch.readInbound();
        assertTrue(b.hasCrc());
        assertEquals(8, b.requestId());
        assertArrayEquals(withCrc, reencode(b));
    }

    @Test
    void onewayAndHeartbeat() {
        final byte[] oneway = golden(1, 2, 1, 9, 0, false, BoltRequest.SOFA_REQUEST_CLASS, sofaHeaders(), body());
        final byte[] hb = golden(2, 1, 0, 10, -1, true, "", Map.of(), new byte[0]);
        channel().writeInbound(Unpooled.wrappedBuffer(oneway, hb));
        final BoltRequest o = ch.readInbound();
        assertTrue(o.isOneway());
        assertArrayEquals(oneway, reencode(o));
        final BoltRequest h = ch.readInbound();
        assertTrue(h.isHeartbeat());

        final BoltResponse ack = BoltResponse.heartbeatAck(h, UnpooledByteBufAllocator.DEFAULT);
        assertArrayEquals(golden(2, 0, 0, 10, 0, true, "", Map.of(), new byte[0]), reencode(ack));
        h.release();

        final BoltRequest built = BoltRequest.heartbeat(UnpooledByteBufAllocator.DEFAULT, BoltMessage.PROTOCOL_V1, 5);
        assertArrayEquals(golden(1, 1, 0, 5, -1, false, "", Map.of(), new byte[0]), reencode(built));
    }

    @Test
    void requestIdRewriteChangesOnlyTheIdAndRecomputesCrc() {
        final byte[] v1 = golden(1, 1, 1, 7, 3000, false, BoltRequest.SOFA_REQUEST_CLASS, sofaHeaders(), body());
        final byte[] v2 = golden(2, 1, 1, 7, 3000, true, BoltRequest.SOFA_REQUEST_CLASS, sofaHeaders(), body());
        final byte[] v2resp = golden(2, 0, 2, 7, 0, true, BoltResponse.SOFA_RESPONSE_CLASS, Map.of(), body());
        channel().writeInbound(Unpooled.wrappedBuffer(v1, v2, v2resp));

        final BoltRequest a = ch.readInbound();
        final BoltRequest a2 = a.withRequestId(0x01020304);
        assertEquals(0x01020304, a2.requestId());
        assertEquals(7, a.requestId());
        assertEquals(a.headers(), a2.headers());
        assertArrayEquals(golden(1, 1, 1, 0x01020304, 3000, false, BoltRequest.SOFA_REQUEST_CLASS, sofaHeaders(),
                                 body()), reencode(a2)); // releases the shared frame

        final BoltRequest b = ch.readInbound();
        final byte[] rewritten = reencode(b.withRequestId(99));
        assertArrayEquals(golden(2, 1, 1, 99, 3000, true, BoltRequest.SOFA_REQUEST_CLASS, sofaHeaders(), body()),
                          rewritten);
        assertNotEquals(crcOf(v2), crcOf(rewritten));

        final BoltResponse c = ch.readInbound();
        assertArrayEquals(golden(2, 0, 2, -5, 0, true, BoltResponse.SOFA_RESPONSE_CLASS, Map.of(), body()),
                          reencode(c.withRequestId(-5)));

        // The rewritten frame decodes again (its CRC checks out).
        ch.writeInbound(Unpooled.wrappedBuffer(rewritten));
        final BoltRequest again = ch.readInbound();
        assertEquals(99, again.requestId());
        again.release();
    }

    private static int crcOf(byte[] frame) {
        return Unpooled.wrappedBuffer(frame).getInt(frame.length - 4);
    }

    @Test
    void byteByByteDelivery() {
        final byte[] v2 = golden(2, 1, 1, 7, 3000, true, BoltRequest.SOFA_REQUEST_CLASS, sofaHeaders(), body());
        final byte[] v1 = golden(1, 0, 2, 8, 0, false, BoltResponse.SOFA_RESPONSE_CLASS, Map.of("k", "v"), body());
        channel();
        final byte[] both = new byte[v2.length + v1.length];
        System.arraycopy(v2, 0, both, 0, v2.length);
        System.arraycopy(v1, 0, both, v2.length, v1.length);
        for (int i = 0; i < both.length; i++) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] { both[i] }));
            if (i < v2.length - 1) {
                assertNull(ch.readInbound(), "decoded early at byte " + i);
            }
        }
        final BoltRequest r = ch.readInbound();
        assertEquals("sayHello", r.methodName());
        assertArrayEquals(v2, reencode(r));
        final BoltResponse s = ch.readInbound();
        assertEquals(Map.of("k", "v"), s.headers());
        assertArrayEquals(v1, reencode(s));
    }

    @Test
    void badProtocolByteClosesAndCounts() {
        final long before = BoltDecoder.protocolErrors();
        channel();
        final BoltProtocolException e = assertThrows(BoltProtocolException.class,
                () -> ch.writeInbound(Unpooled.wrappedBuffer(new byte[] { 0x05, 1, 0, 1 })));
        assertEquals("proto: 0x05 (expected: 0x01 or 0x02)", e.getMessage());
        assertEquals(before + 1, BoltDecoder.protocolErrors());
        // Everything after the error is discarded, even a valid frame.
        ch.writeInbound(Unpooled.wrappedBuffer(golden(1, 1, 0, 1, -1, false, "", Map.of(), new byte[0])));
        assertNull(ch.readInbound());
    }

    @Test
    void hugeLengthFailsFromTheHeaderAlone() {
        final long before = BoltDecoder.protocolErrors();
        final ByteBuf header = Unpooled.buffer();
        header.writeByte(1).writeByte(1).writeShort(1).writeByte(1).writeInt(1).writeByte(1).writeInt(0);
        header.writeShort(0).writeShort(0).writeInt(Integer.MAX_VALUE); // 2 GiB content announced
        channel();
        final BoltProtocolException e = assertThrows(BoltProtocolException.class, () -> ch.writeInbound(header));
        assertTrue(e.getMessage().startsWith("frame length: 2147483669 (expected: <= 8388608)"), e.getMessage());
        assertEquals(before + 1, BoltDecoder.protocolErrors());

        final ByteBuf negative = Unpooled.buffer();
        negative.writeByte(1).writeByte(1).writeShort(1).writeByte(1).writeInt(1).writeByte(1).writeInt(0);
        negative.writeShort(0).writeShort(0).writeInt(-1);
        ch.finishAndReleaseAll();
        ch = new EmbeddedChannel(new BoltDecoder());
        assertThrows(BoltProtocolException.class, () -> ch.writeInbound(negative));
    }

    @Test
    void limitsAreConfigurable() {
        final byte[] frame = golden(1, 1, 1, 7, 3000, false, BoltRequest.SOFA_REQUEST_CLASS, sofaHeaders(), body());
        ch = new EmbeddedChannel(new BoltDecoder(1 << 20, 16, 1024));
        final BoltProtocolException e = assertThrows(BoltProtocolException.class,
                () -> ch.writeInbound(Unpooled.wrappedBuffer(frame)));
        assertTrue(e.getMessage().startsWith("headerLen: "), e.getMessage());
        ch.finishAndReleaseAll();

        ch = new EmbeddedChannel(new BoltDecoder(1 << 20, 1024, 10));
        assertThrows(BoltProtocolException.class, () -> ch.writeInbound(Unpooled.wrappedBuffer(frame)));
        ch.finishAndReleaseAll();

        ch = new EmbeddedChannel(new BoltDecoder(frame.length - 1, 1024, 1024));
        assertThrows(BoltProtocolException.class, () -> ch.writeInbound(Unpooled.wrappedBuffer(frame)));
        ch.finishAndReleaseAll();

        ch = new EmbeddedChannel(new BoltDecoder(frame.length, 1024, 1024));
        ch.writeInbound(Unpooled.wrappedBuffer(frame));
        ReferenceCountUtil.release(ch.readInbound());
        assertThrows(IllegalArgumentException.class, () -> new BoltDecoder(0, 1, 1));
    }

    @Test
    void badCrcIsRejected() {
        final byte[] frame = golden(2, 1, 1, 7, 3000, true, BoltRequest.SOFA_REQUEST_CLASS, sofaHeaders(), body());
        frame[frame.length - 6] ^= 0x01; // flip a content bit
        channel();
        final BoltProtocolException e = assertThrows(BoltProtocolException.class,
                () -> ch.writeInbound(Unpooled.wrappedBuffer(frame)));
        assertTrue(e.getMessage().startsWith("crc32: "), e.getMessage());
    }

    @Test
    void malformedHeaderMapIsRejected() {
        final byte[] frame = golden(1, 1, 1, 7, 3000, false, "", Map.of("key", "value"), body());
        frame[22 + 3] = 100; // key length 100 in a 16-byte header map
        channel();
        final BoltProtocolException e = assertThrows(BoltProtocolException.class,
                () -> ch.writeInbound(Unpooled.wrappedBuffer(frame)));
        assertEquals("header.key.length: 100 (expected: -1 or 0..12)", e.getMessage());
    }

    @Test
    void garbageAfterValidFrame() {
        final byte[] frame = golden(1, 1, 1, 7, 3000, false, BoltRequest.SOFA_REQUEST_CLASS, sofaHeaders(), body());
        final ByteBuf in = Unpooled.buffer().writeBytes(frame).writeBytes("GET / HTTP/1.1\r\n".getBytes(UTF_8));
        channel();
        assertThrows(BoltProtocolException.class, () -> ch.writeInbound(in));
        final BoltRequest r = ch.readInbound();
        assertEquals(SERVICE, r.service());
        r.release();
        assertNull(ch.readInbound());
    }

    @Test
    void badTypeAndCommand() {
        channel();
        assertThrows(BoltProtocolException.class,
                () -> ch.writeInbound(Unpooled.wrappedBuffer(new byte[] { 1, 7 })));
        ch.finishAndReleaseAll();
        ch = new EmbeddedChannel(new BoltDecoder());
        final byte[] frame = golden(1, 1, 2, 7, 3000, false, "", Map.of(), new byte[0]); // request with cmd response
        final BoltProtocolException e = assertThrows(BoltProtocolException.class,
                () -> ch.writeInbound(Unpooled.wrappedBuffer(frame)));
        assertTrue(e.getMessage().startsWith("cmdcode: 0x0002"), e.getMessage());
    }

    @Test
    void detect() {
        final byte[] v1 = golden(1, 1, 1, 7, 3000, false, "", Map.of(), new byte[0]);
        final byte[] v2 = golden(2, 0, 2, 7, 0, true, "", Map.of(), new byte[0]);
        assertEquals(ProtocolDetectionState.DETECTED, BoltDecoder.detect(Unpooled.wrappedBuffer(v1)));
        assertEquals(ProtocolDetectionState.DETECTED, BoltDecoder.detect(Unpooled.wrappedBuffer(v2)));
        assertEquals(ProtocolDetectionState.NEEDS_MORE_DATA, BoltDecoder.detect(Unpooled.wrappedBuffer(v1, 0, 3)));
        assertEquals(ProtocolDetectionState.NEEDS_MORE_DATA, BoltDecoder.detect(Unpooled.wrappedBuffer(v2, 0, 4)));
        assertEquals(ProtocolDetectionState.NEEDS_MORE_DATA, BoltDecoder.detect(Unpooled.EMPTY_BUFFER));
        assertEquals(ProtocolDetectionState.INVALID,
                     BoltDecoder.detect(Unpooled.wrappedBuffer("GET /".getBytes(UTF_8))));
        assertEquals(ProtocolDetectionState.INVALID, BoltDecoder.detect(Unpooled.wrappedBuffer(new byte[] { 1, 9 })));
        assertEquals(ProtocolDetectionState.INVALID,
                     BoltDecoder.detect(Unpooled.wrappedBuffer(new byte[] { 1, 1, 0, 2 })));
        assertEquals(ProtocolDetectionState.INVALID,
                     BoltDecoder.detect(Unpooled.wrappedBuffer(new byte[] { (byte) 0xda, (byte) 0xbb })));
        final ByteBuf buf = Unpooled.wrappedBuffer(v1);
        BoltDecoder.detect(buf);
        assertEquals(0, buf.readerIndex());
    }

    @Test
    void localErrorResponses() {
        final byte[] frame = golden(2, 1, 1, 77, 3000, true, BoltRequest.SOFA_REQUEST_CLASS, sofaHeaders(), body());
        channel().writeInbound(Unpooled.wrappedBuffer(frame));
        final BoltRequest req = ch.readInbound();

        final BoltResponse busy = BoltResponse.error(req, BoltResponseStatus.SERVER_THREADPOOL_BUSY,
                                                     UnpooledByteBufAllocator.DEFAULT);
        assertArrayEquals(golden(2, 0, 2, 77, 4, true, "", Map.of(), new byte[0]), reencode(busy));

        final BoltResponse err = BoltResponse.sofaError(req, "no healthy upstream", UnpooledByteBufAllocator.DEFAULT);
        assertEquals(77, err.requestId());
        assertEquals(BoltResponseStatus.SUCCESS, err.status());
        assertEquals(BoltResponse.SOFA_RESPONSE_CLASS, err.className());
        final ByteBuf content = err.content();
        // Hessian 2 draft: O "…SofaResponse" 2 "isError" "errorMsg", o 0, T "no healthy upstream"
        assertEquals('O', content.getByte(0));
        final Hessian2Reader def = new Hessian2Reader(content.duplicate().skipBytes(1));
        assertEquals(BoltResponse.SOFA_RESPONSE_CLASS.length(), def.readInt());
        assertEquals(BoltResponse.SOFA_RESPONSE_CLASS,
                     content.toString(2, BoltResponse.SOFA_RESPONSE_CLASS.length(), UTF_8));
        final Hessian2Reader names = new Hessian2Reader(content.duplicate().skipBytes(
                2 + BoltResponse.SOFA_RESPONSE_CLASS.length()));
        assertEquals(2, names.readInt());
        assertEquals("isError", names.readString());
        assertEquals("errorMsg", names.readString());
        assertEquals('o', content.getByte(content.readableBytes() - 23));
        final Hessian2Reader fields = new Hessian2Reader(content.duplicate().skipBytes(content.readableBytes()
                                                                                       - 21));
        assertEquals(Boolean.TRUE, fields.readScalar());
        assertEquals("no healthy upstream", fields.readString());
        final byte[] encoded = reencode(err);
        ch.writeInbound(Unpooled.wrappedBuffer(encoded)); // CRC and layout check out
        final BoltResponse back = ch.readInbound();
        assertInstanceOf(BoltResponse.class, back);
        assertEquals(77, back.requestId());
        back.release();
        req.release();
    }

    @Test
    void addedHeadersAreAppendedToTheMapWithTheRestShared() {
        final byte[] v2 = golden(2, 1, 1, 7, 3000, true, BoltRequest.SOFA_REQUEST_CLASS, sofaHeaders(), body());
        final byte[] v1 = golden(1, 1, 1, 8, 3000, false, BoltRequest.SOFA_REQUEST_CLASS, sofaHeaders(), body());
        channel().writeInbound(Unpooled.wrappedBuffer(v2, v1));
        final Map<String, String> added = new LinkedHashMap<>();
        added.put("x-tenant", "blue");
        added.put("type", "async"); // an existing key: the later entry wins
        for (int id : new int[] { 7, 8 }) {
            final BoltRequest r = ch.readInbound();
            final BoltRequest view = r.withRequestId(id + 100);
            final BoltRequest withHeaders = view.withHeaders(added, UnpooledByteBufAllocator.DEFAULT);
            r.release();
            assertEquals("blue", withHeaders.header("x-tenant"));
            assertEquals("async", withHeaders.header("type"));
            assertEquals("sayHello", withHeaders.methodName());
            assertEquals(id + 100, withHeaders.requestId());
            // the original map, then the added entries, as written on the wire; CRC recomputed for v2
            assertArrayEquals(golden(id == 7 ? 2 : 1, 1, 1, id + 100, 3000, id == 7, BoltRequest.SOFA_REQUEST_CLASS,
                                     concat(sofaHeaders(), added), body()),
                              reencode(withHeaders));
        }
    }

    @Test
    void removedHeadersAreTakenOutOfTheMapAndAddedOnesReplaceTheirKey() {
        final Map<String, String> sent = new LinkedHashMap<>(sofaHeaders());
        sent.put("b3", "463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-1");
        final byte[] v2 = golden(2, 1, 1, 9, 3000, true, BoltRequest.SOFA_REQUEST_CLASS, sent, body());
        channel().writeInbound(Unpooled.wrappedBuffer(v2));
        final Map<String, String> added = new LinkedHashMap<>();
        added.put("type", "async");
        added.put("x-b3-traceid", "463ac35c9f6413ad48485a3953bb6124");
        final BoltRequest r = ch.readInbound();
        final BoltRequest rewritten = r.withHeaders(added, java.util.Set.of("b3", "absent"),
                                                    UnpooledByteBufAllocator.DEFAULT);
        r.release();
        assertNull(rewritten.header("b3"));
        assertEquals("sayHello", rewritten.methodName());
        // the kept entries in wire order, then the added ones; each key once; CRC recomputed
        final Map<String, String> expected = new LinkedHashMap<>(sofaHeaders());
        expected.remove("type");
        expected.putAll(added);
        assertArrayEquals(golden(2, 1, 1, 9, 3000, true, BoltRequest.SOFA_REQUEST_CLASS, expected, body()),
                          reencode(rewritten));
    }

    /** The entries of {@code a} then those of {@code b}, duplicate keys kept, as a map only {@link #golden} iterates. */
    private static Map<String, String> concat(Map<String, String> a, Map<String, String> b) {
        final java.util.List<Map.Entry<String, String>> pairs = new java.util.ArrayList<>(a.entrySet());
        pairs.addAll(b.entrySet());
        return new java.util.AbstractMap<>() {
            @Override
            public java.util.Set<Map.Entry<String, String>> entrySet() {
                return new java.util.AbstractSet<>() {
                    @Override
                    public java.util.Iterator<Map.Entry<String, String>> iterator() {
                        return pairs.iterator();
                    }

                    @Override
                    public int size() {
                        return pairs.size();
                    }
                };
            }
        };
    }
}
