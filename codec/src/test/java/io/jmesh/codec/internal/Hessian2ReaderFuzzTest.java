package io.jmesh.codec.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * Fuzzes {@link Hessian2Reader}: any bytes read as a sequence of strings, ints, scalars, string maps and skipped
 * values give values or a {@link Hessian2FormatException}, never another exception, never a read past the
 * buffer's end and never an operation that consumes nothing; and what {@link Hessian2Writer} writes reads back
 * the same. Seeds: {@code Hessian2ReaderFuzzTestInputs/<method>/}.
 */
class Hessian2ReaderFuzzTest {

    /** The first byte chooses the operations (two bits each, in turn), the rest is the Hessian2 stream. */
    @FuzzTest
    void read(byte[] input) {
        if (input.length == 0) {
            return;
        }
        final int ops = input[0] & 0xff;
        final ByteBuf buf = Unpooled.wrappedBuffer(input, 1, input.length - 1);
        final Hessian2Reader in = new Hessian2Reader(buf);
        try {
            for (int i = 0; in.isReadable(); i++) {
                final int before = buf.readerIndex();
                switch ((ops >> ((i % 4) * 2)) & 3) {
                    case 0 -> in.readString();
                    case 1 -> in.readScalar();
                    case 2 -> in.readStringMap();
                    default -> in.skipValue();
                }
                assertTrue(buf.readerIndex() > before, "an operation consumed nothing");
                assertTrue(buf.readerIndex() <= buf.writerIndex(), "read past the end");
            }
        } catch (Hessian2FormatException expected) {
            assertFalse(expected.getMessage() == null || expected.getMessage().isEmpty(), "error without a message");
        } finally {
            buf.release();
        }
    }

    /** Strings (any UTF-16, lone surrogates included), ints and a string map written, then read back. */
    @FuzzTest
    void writeThenRead(FuzzedDataProvider data) {
        final String s = data.consumeString(70000);
        final int n = data.consumeInt();
        final String k = data.consumeString(64);
        final String v = data.consumeRemainingAsString();
        final ByteBuf buf = Unpooled.buffer();
        try {
            Hessian2Writer.writeString(buf, s);
            Hessian2Writer.writeInt(buf, n);
            buf.writeByte('H');
            Hessian2Writer.writeString(buf, k);
            Hessian2Writer.writeString(buf, v);
            buf.writeByte('Z');
            final Hessian2Reader in = new Hessian2Reader(buf);
            assertEquals(s, in.readString());
            assertEquals(n, in.readInt());
            assertEquals(java.util.Map.of(k, v), in.readStringMap());
            assertFalse(in.isReadable(), "bytes left after the values written");
        } finally {
            buf.release();
        }
    }
}
