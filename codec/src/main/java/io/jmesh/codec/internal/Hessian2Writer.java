package io.jmesh.codec.internal;

import io.netty.buffer.ByteBuf;

/**
 * Writes the few Hessian 2.0 values that locally built replies need (strings, ints, booleans, null,
 * a class definition and an object header), in the compact forms Hessian's own writer uses.
 *
 * @see <a href="http://hessian.caucho.com/doc/hessian-serialization.html">Hessian 2.0 serialization</a>
 */
public final class Hessian2Writer {

    /** Longest string chunk, in UTF-16 units. */
    private static final int MAX_CHUNK = 0x8000;

    private Hessian2Writer() {}

    /** Writes {@code N}. */
    public static void writeNull(ByteBuf out) {
        out.writeByte('N');
    }

    /** Writes {@code T} or {@code F}. */
    public static void writeBoolean(ByteBuf out, boolean value) {
        out.writeByte(value ? 'T' : 'F');
    }

    /** Writes a 32-bit int in its shortest form. */
    public static void writeInt(ByteBuf out, int value) {
        if (value >= -16 && value <= 47) {
            out.writeByte(0x90 + value);
        } else if (value >= -2048 && value <= 2047) {
            out.writeByte(0xc8 + (value >> 8));
            out.writeByte(value);
        } else if (value >= -262144 && value <= 262143) {
            out.writeByte(0xd4 + (value >> 16));
            out.writeShort(value);
        } else {
            out.writeByte('I');
            out.writeInt(value);
        }
    }

    /**
     * Writes a string (or {@code N} for {@code null}): up to 31 UTF-16 units in the one-byte-length form,
     * else {@code S} and a 16-bit length, chunked with {@code R} beyond 32768 units. Without the
     * 2.0-final-only medium form ({@code 0x30}), strings up to 32768 units also read in the Hessian 2
     * draft that sofa-hessian 3.x (SOFARPC) speaks.
     */
    public static void writeString(ByteBuf out, String value) {
        if (value == null) {
            writeNull(out);
            return;
        }
        int offset = 0;
        int remaining = value.length();
        while (remaining > MAX_CHUNK) {
            out.writeByte('R');
            out.writeShort(MAX_CHUNK);
            writeUtf16Units(out, value, offset, MAX_CHUNK);
            offset += MAX_CHUNK;
            remaining -= MAX_CHUNK;
        }
        if (remaining <= 31) {
            out.writeByte(remaining);
        } else {
            out.writeByte('S');
            out.writeShort(remaining);
        }
        writeUtf16Units(out, value, offset, remaining);
    }

    /**
     * Writes a Hessian 2.0 class definition {@code C name count field*}; objects then refer to it by
     * index. (The Hessian 2 draft of sofa-hessian writes {@code O} here instead and {@code o} for an
     * instance.)
     */
    public static void writeClassDef(ByteBuf out, String className, String... fieldNames) {
        out.writeByte('C');
        writeString(out, className);
        writeInt(out, fieldNames.length);
        for (String f : fieldNames) {
            writeString(out, f);
        }
    }

    /** Writes the header of an object of class definition {@code defIndex}; its field values follow. */
    public static void writeObjectStart(ByteBuf out, int defIndex) {
        if (defIndex <= 15) {
            out.writeByte(0x60 + defIndex);
        } else {
            out.writeByte('O');
            writeInt(out, defIndex);
        }
    }

    /** Each UTF-16 unit as one to three bytes, as Hessian's Java writer does (surrogates one by one). */
    private static void writeUtf16Units(ByteBuf out, String s, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            final char c = s.charAt(i);
            if (c < 0x80) {
                out.writeByte(c);
            } else if (c < 0x800) {
                out.writeByte(0xc0 | (c >> 6));
                out.writeByte(0x80 | (c & 0x3f));
            } else {
                out.writeByte(0xe0 | (c >> 12));
                out.writeByte(0x80 | ((c >> 6) & 0x3f));
                out.writeByte(0x80 | (c & 0x3f));
            }
        }
    }
}
