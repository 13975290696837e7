package io.jmesh.codec.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;

import org.junit.jupiter.api.Test;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/** Scalars in every encoding of the Hessian 2.0 spec, as they may appear among Dubbo attachments. */
class Hessian2ReaderTest {

    private static Hessian2Reader reader(int... bytes) {
        final byte[] b = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            b[i] = (byte) bytes[i];
        }
        return new Hessian2Reader(Unpooled.wrappedBuffer(b));
    }

    @Test
    void ints() {
        assertEquals(0, reader(0x90).readScalar());
        assertEquals(-16, reader(0x80).readScalar());
        assertEquals(47, reader(0xbf).readScalar());
        assertEquals(-2048, reader(0xc0, 0x00).readScalar());
        assertEquals(2047, reader(0xcf, 0xff).readScalar());
        assertEquals(-262144, reader(0xd0, 0x00, 0x00).readScalar());
        assertEquals(262143, reader(0xd7, 0xff, 0xff).readScalar());
        assertEquals(Integer.MIN_VALUE, reader('I', 0x80, 0, 0, 0).readScalar());
    }

    @Test
    void longsDoublesDates() {
        assertEquals(0L, reader(0xe0).readScalar());
        assertEquals(-8L, reader(0xd8).readScalar());
        assertEquals(15L, reader(0xef).readScalar());
        assertEquals(-2048L, reader(0xf0, 0x00).readScalar());
        assertEquals(-262144L, reader(0x38, 0x00, 0x00).readScalar());
        assertEquals(262143L, reader(0x3f, 0xff, 0xff).readScalar());
        assertEquals(300L, reader(0x59, 0, 0, 0x01, 0x2c).readScalar());
        assertEquals(Long.MAX_VALUE, reader('L', 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff).readScalar());
        assertEquals(0.0d, reader(0x5b).readScalar());
        assertEquals(1.0d, reader(0x5c).readScalar());
        assertEquals(-128.0d, reader(0x5d, 0x80).readScalar());
        assertEquals(32767.0d, reader(0x5e, 0x7f, 0xff).readScalar());
        assertEquals(12.25d, reader(0x5f, 0, 0, 0x2f, 0xda).readScalar());
        assertEquals(60_000L, reader('K', 0, 0, 0, 1).readScalar());
        assertEquals(Boolean.TRUE, reader('T').readScalar());
        assertNull(reader('N').readScalar());
    }

    @Test
    void stringsInEveryForm() {
        assertEquals("", reader(0x00).readString());
        assertEquals("h\u00e9\u20ac", reader(0x03, 'h', 0xc3, 0xa9, 0xe2, 0x82, 0xac).readString());
        assertEquals("ab", reader(0x30, 0x02, 'a', 'b').readString());
        assertEquals("abc", reader('R', 0, 1, 'a', 'S', 0, 2, 'b', 'c').readString());
        assertEquals("abc", reader('R', 0, 2, 'a', 'b', 0x01, 'c').readString());
        // A supplementary character as two 3-byte surrogates (Hessian's writer) and as 4-byte UTF-8.
        assertEquals("\uD83D\uDE00", reader(0x02, 0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80).readString());
        assertEquals("\uD83D\uDE00", reader(0x02, 0xf0, 0x9f, 0x98, 0x80).readString());
        assertThrows(Hessian2FormatException.class, () -> reader(0x05, 'a').readString());
        assertThrows(Hessian2FormatException.class, () -> reader(0x90).readString());
    }

    /** Found by Hessian2ReaderFuzzTest: a 4-byte UTF-8 sequence above U+10FFFF escaped as IllegalArgumentException. */
    @Test
    void codePointAboveUnicodeIsAFormatError() {
        final Hessian2FormatException e = assertThrows(Hessian2FormatException.class,
                () -> reader(0x02, 0xf6, 0x80, 0x80, 0x80).readString());
        assertEquals("string: UTF-8 sequence of code point 0x180000 (expected: <= 0x10FFFF)", e.getMessage());
        assertEquals("\uD83D\uDE00", reader(0x02, 0xf0, 0x9f, 0x98, 0x80).readString());
    }

    @Test
    void stringMapKeepsScalarsOnly() {
        final Hessian2Reader r = reader('M', 0x03, 'm', 'a', 'p',
                                        0x01, 'a', 0x91,
                                        0x01, 'b', 0x78,            // empty list: left out
                                        0x01, 'c', 'N',             // null: left out
                                        0x01, 'd', 'F',
                                        'Z');
        final Map<String, String> m = r.readStringMap();
        assertEquals(Map.of("a", "1", "d", "false"), m);
        assertFalse(r.isReadable());
        assertSame(Hessian2Reader.COMPLEX, reader(0x78).readScalar());
    }

    @Test
    void writerOutputReadsBack() {
        final ByteBuf buf = Unpooled.buffer();
        final String longText = "y".repeat(40_000);
        Hessian2Writer.writeString(buf, "short");
        Hessian2Writer.writeString(buf, "z".repeat(500));
        Hessian2Writer.writeString(buf, longText);
        Hessian2Writer.writeString(buf, null);
        for (int v : new int[] { 0, -16, 47, 48, -2048, 2047, 2048, -262144, 262143, 262144, Integer.MIN_VALUE }) {
            Hessian2Writer.writeInt(buf, v);
        }
        final Hessian2Reader r = new Hessian2Reader(buf);
        assertEquals("short", r.readString());
        assertEquals("z".repeat(500), r.readString());
        assertEquals(longText, r.readString());
        assertNull(r.readString());
        for (int v : new int[] { 0, -16, 47, 48, -2048, 2047, 2048, -262144, 262143, 262144, Integer.MIN_VALUE }) {
            assertEquals(v, r.readInt());
        }
        assertFalse(r.isReadable());
        buf.release();
    }
}
