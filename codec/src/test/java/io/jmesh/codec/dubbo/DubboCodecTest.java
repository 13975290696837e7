package io.jmesh.codec.dubbo;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.ProtocolDetectionState;

class DubboCodecTest {

    private EmbeddedChannel ch;

    @AfterEach
    void tearDown() {
        if (ch != null) {
            ch.finishAndReleaseAll();
        }
    }

    private EmbeddedChannel channel() {
        ch = new EmbeddedChannel(new DubboDecoder(), DubboEncoder.INSTANCE);
        return ch;
    }

    /** Bytes written by hand from the Hessian 2.0 grammar. */
    static final class H {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        H b(byte[] bytes) {
            out.writeBytes(bytes);
            return this;
        }

        H b(int... bytes) {
            for (int x : bytes) {
                out.write(x);
            }
            return this;
        }

        H str(String s) { // short or medium string, ASCII
            final int n = s.length();
            if (n <= 31) {
                b(n);
            } else {
                b(0x30 + (n >> 8), n & 0xff);
            }
            out.writeBytes(s.getBytes(UTF_8));
            return this;
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    static final String DESC = "Ljava/lang/String;IJDZ[BLjava/util/List;Ljava/util/Map;Lcom/example/Pojo;"
                               + "Lcom/example/Pojo;Ljava/lang/String;[Ljava/lang/Object;Ljava/util/Date;S";

    /** A request body as DubboCodec writes it, with one argument of every kind the skipper must pass. */
    static byte[] richBody() {
        final H h = new H();
        h.str("2.0.2").str("com.example.GreetingService").str("1.0.0").str("greet").str(DESC);
        h.str("world");                                    // String
        h.b(0xd4, 0x10, 0x00);                             // int 4096 (three-octet)
        h.b('L', 0, 0, 0, 1, 0, 0, 0, 0);                  // long 2^32
        h.b('D', 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18); // double pi
        h.b('T');                                          // boolean
        h.b(0x23, 1, 2, 3);                                // byte[3]
        h.b('V').str("java.util.ArrayList").b(0x92).str("a").str("b"); // typed fixed list of 2
        h.b('H').str("k").b(0x91).str("nested").b(0x79).b(0xe1).b('Z'); // untyped map with a 1-list
        h.b('C').str("com.example.Pojo").b(0x92).str("name").str("tags"); // class def 0, 2 fields
        h.b(0x60).str("pojo").b('N');                      // object of def 0
        h.b('Q', 0x92);                                    // ref to the object (#2)
        h.b('R', 0x80, 0x00);                              // a chunked string: 32768 chars then "!"
        for (int i = 0; i < 0x8000; i++) {
            h.b('x');
        }
        h.b(0x01, '!');
        h.b(0x7b).b('N').b(0xc8, 0x10).b('A', 0x00, 0x02, 9, 9).b(0x21, 7); // untyped list of 3: null, int, binary in chunks
        h.b('J', 0, 0, 1, 0x7f, 0, 0, 0, 0);               // date
        h.b(0x5e, 0x01, 0x00);                             // (short as double form) 256.0
        // attachments
        h.b('H').str("path").str("com.example.GreetingService")
         .str("interface").str("com.example.GreetingService")
         .str("version").str("1.0.0").str("group").str("blue").str("timeout").b(0xcb, 0xe8) // 1000
         .str("x-null").b('N').str("x-list").b(0x78).b('Z');
        return h.bytes();
    }

    /** A small invocation, {@code greet("x", 1)} with one attachment, for byte-by-byte delivery. */
    static byte[] smallBody() {
        return new H().str("2.0.2").str("com.example.GreetingService").str("1.0.0").str("greet")
                      .str("Ljava/lang/String;I").str("x").b(0x91).b('H').str("group").str("g").b('Z').bytes();
    }

    static byte[] frame(int flag, int status, long id, byte[] body) {
        final ByteBuf b = Unpooled.buffer();
        b.writeShort(0xdabb).writeByte(flag).writeByte(status).writeLong(id).writeInt(body.length).writeBytes(body);
        final byte[] out = ByteBufUtil.getBytes(b);
        b.release();
        return out;
    }

    private byte[] reencode(DubboMessage msg) {
        assertTrue(ch.writeOutbound(msg));
        final ByteBuf out = ch.readOutbound();
        final byte[] bytes = ByteBufUtil.getBytes(out);
        out.release();
        return bytes;
    }

    @Test
    void decodesRoutingFieldsAndAttachmentsAfterSkippingEveryKindOfArgument() {
        final byte[] frame = frame(0xc2, 0, 0x1122334455667788L, richBody());
        channel().writeInbound(Unpooled.wrappedBuffer(frame));
        final DubboRequest r = ch.readInbound();
        assertEquals(0x1122334455667788L, r.requestId());
        assertTrue(r.isTwoWay());
        assertFalse(r.isEvent());
        assertFalse(r.isHeartbeat());
        assertEquals(2, r.serializationId());
        assertEquals("2.0.2", r.dubboVersion());
        assertEquals("com.example.GreetingService", r.servicePath());
        assertEquals("1.0.0", r.serviceVersion());
        assertEquals("greet", r.methodName());
        assertEquals(DESC, r.parameterTypesDesc());
        final Map<String, String> expected = new LinkedHashMap<>();
        expected.put("path", "com.example.GreetingService");
        expected.put("interface", "com.example.GreetingService");
        expected.put("version", "1.0.0");
        expected.put("group", "blue");
        expected.put("timeout", "1000");
        assertEquals(expected, r.attachments());
        assertEquals("blue", r.group());
        assertEquals("com.example.GreetingService", r.interfaceName());
        assertEquals(frame.length - 16, r.bodyLength());
        assertArrayEquals(frame, reencode(r));
    }

    /**
     * Found by DubboDecoderFuzzTest: a service path with a UTF-8 sequence above U+10FFFF escaped the decoder as an
     * IllegalArgumentException, so the decoder did not fail closed and read on after the bad frame.
     */
    @Test
    void invalidUtf8InRoutingFieldClosesLikeAnyBadFrame() {
        final byte[] body = new H().str("2.0.2").b(0x02, 0xf6, 0x80, 0x80, 0x80).str("1.0.0").str("greet")
                                   .str("").bytes();
        final byte[] bad = frame(0xc2, 0, 7, body);
        final byte[] good = frame(0xc2, 0, 8, smallBody());
        final byte[] both = new byte[bad.length + good.length];
        System.arraycopy(bad, 0, both, 0, bad.length);
        System.arraycopy(good, 0, both, bad.length, good.length);
        final DubboProtocolException e = assertThrows(DubboProtocolException.class,
                () -> channel().writeInbound(Unpooled.wrappedBuffer(both)));
        assertTrue(e.getMessage().contains("code point 0x180000"), e.getMessage());
        assertNull(ch.readInbound(), "nothing is decoded after a bad frame");
    }

    @Test
    void countsParameters() {
        assertEquals(0, DubboRequest.countParameters(""));
        assertEquals(14, DubboRequest.countParameters(DESC));
        assertEquals(3, DubboRequest.countParameters("[[I[Ljava/lang/String;J"));
        assertThrows(RuntimeException.class, () -> DubboRequest.countParameters("Ljava/lang/String"));
        assertThrows(RuntimeException.class, () -> DubboRequest.countParameters("Q"));
    }

    @Test
    void requestIdRewriteAndByteByByteDelivery() {
        final byte[] req = frame(0xc2, 0, 5, smallBody());
        final byte[] resp = frame(0x02, 20, 5, new H().b(0x94).str("hello world").b('H').b('Z').bytes());
        final byte[] both = new byte[req.length + resp.length];
        System.arraycopy(req, 0, both, 0, req.length);
        System.arraycopy(resp, 0, both, req.length, resp.length);
        channel();
        for (int i = 0; i < both.length; i++) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] { both[i] }));
            if (i < req.length - 1) {
                assertNull(ch.readInbound());
            }
        }
        final DubboRequest r = ch.readInbound();
        assertEquals("greet", r.methodName());
        assertEquals(Map.of("group", "g"), r.attachments());
        assertArrayEquals(frame(0xc2, 0, -2, smallBody()), reencode(r.withRequestId(-2)));
        final DubboResponse s = ch.readInbound();
        assertTrue(s.isOk());
        assertNull(s.errorMessage());
        final DubboResponse s2 = s.withRequestId(Long.MAX_VALUE);
        assertEquals(5, s.requestId());
        assertArrayEquals(frame(0x02, 20, Long.MAX_VALUE,
                                new H().b(0x94).str("hello world").b('H').b('Z').bytes()), reencode(s2));
    }

    @Test
    void heartbeatsAndEvents() {
        final byte[] hb = frame(0xe2, 0, 9, new byte[] { 'N' });
        final byte[] readonly = frame(0xa2, 0, 10, new H().str("R").bytes());
        channel().writeInbound(Unpooled.wrappedBuffer(hb, readonly));
        final DubboRequest h = ch.readInbound();
        assertTrue(h.isEvent());
        assertTrue(h.isHeartbeat());
        assertNull(h.methodName());
        assertTrue(h.attachments().isEmpty());
        final DubboResponse reply = DubboResponse.heartbeat(h, UnpooledByteBufAllocator.DEFAULT);
        assertArrayEquals(frame(0x22, 20, 9, new byte[] { 'N' }), reencode(reply));
        h.release();
        final DubboRequest ro = ch.readInbound();
        assertTrue(ro.isEvent());
        assertFalse(ro.isHeartbeat());
        assertFalse(ro.isTwoWay());
        ro.release();

        final DubboRequest built = DubboRequest.heartbeat(UnpooledByteBufAllocator.DEFAULT, 11);
        assertArrayEquals(frame(0xe2, 0, 11, new byte[] { 'N' }), reencode(built));
    }

    @Test
    void localErrorResponse() {
        final DubboRequest req = DubboRequest.invocation(UnpooledByteBufAllocator.DEFAULT, 33, true,
                "com.example.GreetingService", "1.0.0", "greet", new String[] { "a" }, Map.of("group", "g"));
        assertEquals("g", req.group());
        assertEquals(1, DubboRequest.countParameters(req.parameterTypesDesc()));
        final DubboResponse err = DubboResponse.error(req, DubboStatus.SERVICE_NOT_FOUND, "no route to greet",
                                                      UnpooledByteBufAllocator.DEFAULT);
        req.release();
        assertEquals("no route to greet", err.errorMessage());
        channel();
        final byte[] bytes = reencode(err);
        assertArrayEquals(frame(0x02, 60, 33, new H().str("no route to greet").bytes()), bytes);
        ch.writeInbound(Unpooled.wrappedBuffer(bytes));
        final DubboResponse back = ch.readInbound();
        assertEquals(DubboStatus.SERVICE_NOT_FOUND, back.status());
        assertEquals("no route to greet", back.errorMessage());
        back.release();
        assertThrows(IllegalArgumentException.class,
                () -> DubboResponse.error(null, DubboStatus.OK, "x", UnpooledByteBufAllocator.DEFAULT));
    }

    @Test
    void otherSerializationsPassThroughWithoutRoutingFields() {
        final byte[] fastjson2 = frame(0xc0 | 23, 0, 1, new byte[] { 1, 2, 3, 4 });
        channel().writeInbound(Unpooled.wrappedBuffer(fastjson2));
        final DubboRequest r = ch.readInbound();
        assertEquals(23, r.serializationId());
        assertNull(r.servicePath());
        assertArrayEquals(fastjson2, reencode(r));
    }

    @Test
    void badMagicClosesAndCounts() {
        final long before = DubboDecoder.protocolErrors();
        channel();
        final DubboProtocolException e = assertThrows(DubboProtocolException.class,
                () -> ch.writeInbound(Unpooled.wrappedBuffer("GET / HTTP/1.1\r\n".getBytes(UTF_8))));
        assertEquals("magic: 0x4745 (expected: 0xdabb)", e.getMessage());
        assertEquals(before + 1, DubboDecoder.protocolErrors());
        ch.writeInbound(Unpooled.wrappedBuffer(frame(0xe2, 0, 9, new byte[] { 'N' })));
        assertNull(ch.readInbound());

        ch.finishAndReleaseAll();
        ch = new EmbeddedChannel(new DubboDecoder());
        assertThrows(DubboProtocolException.class, () -> ch.writeInbound(Unpooled.wrappedBuffer(new byte[] { 1 })));
    }

    @Test
    void hugeAndNegativeLengthsFailFromTheHeader() {
        final ByteBuf header = Unpooled.buffer().writeShort(0xdabb).writeByte(0xc2).writeByte(0).writeLong(1)
                                       .writeInt(Integer.MAX_VALUE);
        channel();
        final DubboProtocolException e = assertThrows(DubboProtocolException.class, () -> ch.writeInbound(header));
        assertEquals("frame length: 2147483663 (expected: <= 8388608)", e.getMessage());
        ch.finishAndReleaseAll();

        ch = new EmbeddedChannel(new DubboDecoder());
        final ByteBuf negative = Unpooled.buffer().writeShort(0xdabb).writeByte(0xc2).writeByte(0).writeLong(1)
                                         .writeInt(-5);
        assertThrows(DubboProtocolException.class, () -> ch.writeInbound(negative));
        ch.finishAndReleaseAll();

        final byte[] frame = frame(0xc2, 0, 5, richBody());
        ch = new EmbeddedChannel(new DubboDecoder(frame.length - 1));
        assertThrows(DubboProtocolException.class, () -> ch.writeInbound(Unpooled.wrappedBuffer(frame)));
        ch.finishAndReleaseAll();
        ch = new EmbeddedChannel(new DubboDecoder(frame.length));
        ch.writeInbound(Unpooled.wrappedBuffer(frame));
        ((DubboRequest) ch.readInbound()).release();
        assertThrows(IllegalArgumentException.class, () -> new DubboDecoder(15));
    }

    @Test
    void malformedBodies() {
        // Truncated: the argument is cut off.
        final byte[] truncated = new H().str("2.0.2").str("S").str("").str("m").str("Ljava/lang/String;")
                                        .b(0x05, 'a', 'b').bytes();
        // Undefined class definition.
        final byte[] undefined = new H().str("2.0.2").str("S").str("").str("m").str("Ljava/lang/Object;")
                                        .b(0x61).bytes();
        // Reserved tag.
        final byte[] reserved = new H().str("2.0.2").str("S").str("").str("m").str("I").b(0x45).bytes();
        // Nesting bomb: 100 nested untyped lists.
        final H bomb = new H().str("2.0.2").str("S").str("").str("m").str("Ljava/util/List;");
        for (int i = 0; i < 100; i++) {
            bomb.b('W');
        }
        for (int i = 0; i < 100; i++) {
            bomb.b('Z');
        }
        for (byte[] body : new byte[][] { truncated, undefined, reserved, bomb.bytes() }) {
            ch = new EmbeddedChannel(new DubboDecoder());
            final long before = DubboDecoder.protocolErrors();
            final DubboProtocolException e = assertThrows(DubboProtocolException.class,
                    () -> ch.writeInbound(Unpooled.wrappedBuffer(frame(0xc2, 0, 1, body))));
            assertTrue(e.getMessage().startsWith("body: "), e.getMessage());
            assertEquals(before + 1, DubboDecoder.protocolErrors());
            ch.finishAndReleaseAll();
        }
        ch = null;
    }

    @Test
    void manyClassDefinitionsDoNotRecurse() {
        final H h = new H().str("2.0.2").str("S").str("").str("m").str("Ljava/lang/Object;");
        for (int i = 0; i < 200_000; i++) {
            h.b('C').str("a").b(0x90); // a class with no fields
        }
        h.b(0x60); // an object of the first one
        h.b('H').str("group").str("deep").b('Z');
        ch = new EmbeddedChannel(new DubboDecoder());
        ch.writeInbound(Unpooled.wrappedBuffer(frame(0xc2, 0, 1, h.bytes())));
        final DubboRequest r = ch.readInbound();
        assertEquals("deep", r.group());
        r.release();
    }

    @Test
    void garbageAfterValidFrame() {
        final byte[] frame = frame(0xc2, 0, 5, richBody());
        channel();
        assertThrows(DubboProtocolException.class, () -> ch.writeInbound(
                Unpooled.wrappedBuffer(frame, new byte[] { (byte) 0xda, 0x00, 1, 2 })));
        final DubboRequest r = ch.readInbound();
        assertEquals("greet", r.methodName());
        r.release();
        assertNull(ch.readInbound());
    }

    @Test
    void detect() {
        assertEquals(ProtocolDetectionState.DETECTED,
                     DubboDecoder.detect(Unpooled.wrappedBuffer(new byte[] { (byte) 0xda, (byte) 0xbb })));
        assertEquals(ProtocolDetectionState.NEEDS_MORE_DATA,
                     DubboDecoder.detect(Unpooled.wrappedBuffer(new byte[] { (byte) 0xda })));
        assertEquals(ProtocolDetectionState.NEEDS_MORE_DATA, DubboDecoder.detect(Unpooled.EMPTY_BUFFER));
        assertEquals(ProtocolDetectionState.INVALID,
                     DubboDecoder.detect(Unpooled.wrappedBuffer(new byte[] { (byte) 0xda, 0x01 })));
        assertEquals(ProtocolDetectionState.INVALID, DubboDecoder.detect(Unpooled.wrappedBuffer(new byte[] { 1, 1 })));
    }

    @Test
    void addedAttachmentsGoAtTheEndOfTheMapWithTheRestShared() {
        final byte[] withMap = smallBody();
        final byte[] noMap = new H().str("2.0.2").str("com.example.GreetingService").str("1.0.0").str("greet")
                                    .str("Ljava/lang/String;I").str("x").b(0x91).bytes();
        final byte[] nullMap = new H().str("2.0.2").str("com.example.GreetingService").str("1.0.0").str("greet")
                                      .str("Ljava/lang/String;I").str("x").b(0x91).b('N').bytes();
        channel().writeInbound(Unpooled.wrappedBuffer(frame(0xc2, 0, 1, withMap), frame(0xc2, 0, 2, noMap),
                                                      frame(0xc2, 0, 3, nullMap)));
        final Map<String, String> added = new LinkedHashMap<>();
        added.put("x-tenant", "blue");
        added.put("group", "h"); // replaces the existing attachment: the later entry wins
        final byte[] args = new H().str("2.0.2").str("com.example.GreetingService").str("1.0.0").str("greet")
                                   .str("Ljava/lang/String;I").str("x").b(0x91).bytes();
        final byte[][] expectedBodies = {
            new H().b(args).b('H').str("group").str("g").str("x-tenant").str("blue").str("group").str("h").b('Z').bytes(),
            new H().b(args).b('H').str("x-tenant").str("blue").str("group").str("h").b('Z').bytes(),
            new H().b(args).b('H').str("x-tenant").str("blue").str("group").str("h").b('Z').bytes(),
        };
        for (int i = 0; i < 3; i++) {
            final DubboRequest r = ch.readInbound();
            final DubboRequest added2 = r.withRequestId(40 + i).withAttachments(added, UnpooledByteBufAllocator.DEFAULT);
            r.release();
            assertEquals("blue", added2.attachment("x-tenant"));
            assertEquals("h", added2.group());
            assertEquals("greet", added2.methodName());
            assertArrayEquals(frame(0xc2, 0, 40 + i, expectedBodies[i]), reencode(added2));
        }
        final DubboRequest hb = DubboRequest.heartbeat(UnpooledByteBufAllocator.DEFAULT, 1);
        try {
            assertThrows(DubboProtocolException.class, () -> hb.withAttachments(added, UnpooledByteBufAllocator.DEFAULT));
        } finally {
            hb.release();
        }
    }

    @Test
    void removedAttachmentsAreTakenOutOfTheMapAndAddedOnesReplaceTheirKey() {
        final byte[] args = new H().str("2.0.2").str("com.example.GreetingService").str("1.0.0").str("greet")
                                   .str("Ljava/lang/String;I").str("x").b(0x91).bytes();
        final byte[] sent = new H().b(args).b('H').str("b3").str("463ac35c9f6413ad48485a3953bb6124-a2fb4a1d1a96d312-1")
                                   .str("group").str("g").str("n").b(0x95).str("path").str("p").b('Z').bytes();
        channel().writeInbound(Unpooled.wrappedBuffer(frame(0xc2, 0, 5, sent)));
        final Map<String, String> added = new LinkedHashMap<>();
        added.put("path", "q");
        added.put("x-b3-sampled", "1");
        final DubboRequest r = ch.readInbound();
        final DubboRequest rewritten = r.withAttachments(added, java.util.Set.of("b3", "absent"),
                                                         UnpooledByteBufAllocator.DEFAULT);
        r.release();
        assertNull(rewritten.attachment("b3"));
        assertEquals("g", rewritten.group());
        assertEquals("greet", rewritten.methodName());
        // kept entries (a non-string value too) in wire order, then the added ones, each key once
        assertArrayEquals(frame(0xc2, 0, 5, new H().b(args).b('H').str("group").str("g").str("n").b(0x95)
                                                   .str("path").str("q").str("x-b3-sampled").str("1").b('Z').bytes()),
                          reencode(rewritten));
    }
}
