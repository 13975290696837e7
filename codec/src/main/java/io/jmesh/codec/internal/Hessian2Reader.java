package io.jmesh.codec.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.netty.buffer.ByteBuf;

/**
 * Reads the few Hessian 2.0 values a proxy routes on (strings, scalars, a string map) and skips any
 * other value without materialising it.
 *
 * <p>The reader works on the readable bytes of the given buffer and never reads past its writer
 * index: a value that does not fit throws {@link Hessian2FormatException}. Nesting is bounded by
 * {@link #MAX_DEPTH}, so a hostile body can cost at most one pass over its bytes. Class definitions
 * seen while skipping are remembered, as objects refer to them by index. Not thread-safe; one
 * instance per body.
 *
 * @see <a href="http://hessian.caucho.com/doc/hessian-serialization.html">Hessian 2.0 serialization</a>
 */
public final class Hessian2Reader {

    /** Deepest nesting of lists, maps and objects accepted while skipping. */
    public static final int MAX_DEPTH = 64;

    /** Value returned by {@link #readScalar()} for a value that is not a scalar (list, map, object...). */
    public static final Object COMPLEX = new Object() {
        @Override
        public String toString() {
            return "<complex>";
        }
    };

    private final ByteBuf buf;
    /** Number of fields of each class definition, by definition index. */
    private final List<Integer> classDefFieldCounts = new ArrayList<>();

    /** Reads from {@code buf}'s reader index; the buffer is not retained or released. */
    public Hessian2Reader(ByteBuf buf) {
        this.buf = buf;
    }

    /** The position of the next byte to read in the buffer. */
    public int readerIndex() {
        return buf.readerIndex();
    }

    /** Whether bytes remain. */
    public boolean isReadable() {
        return buf.isReadable();
    }

    /** Reads a string, or {@code null} for Hessian {@code N}. */
    public String readString() {
        final int tag = readTag();
        if (tag == 'N') {
            return null;
        }
        if (!isStringTag(tag)) {
            throw new Hessian2FormatException("expected a string, found tag 0x" + Integer.toHexString(tag));
        }
        final StringBuilder sb = new StringBuilder();
        readStringChunks(tag, sb);
        return sb.toString();
    }

    /** Reads a 32-bit int in any of its encodings. */
    public int readInt() {
        final int tag = readTag();
        final Object v = readScalar(tag);
        if (v instanceof Integer) {
            return (Integer) v;
        }
        throw new Hessian2FormatException("expected an int, found tag 0x" + Integer.toHexString(tag));
    }

    /**
     * Reads a scalar: String, Integer, Long, Double, Boolean, a date as Long millis, or {@code null};
     * any other value (binary, list, map, object, reference) is skipped and {@link #COMPLEX} returned.
     */
    public Object readScalar() {
        return readScalar(readTag());
    }

    /**
     * Reads a map ({@code H} or {@code M}) whose keys are strings, keeping string-keyed scalar entries
     * as strings; complex values are skipped and left out. Returns an unmodifiable map in wire order;
     * {@code null} for Hessian {@code N}.
     */
    public Map<String, String> readStringMap() {
        final int tag = readTag();
        if (tag == 'N') {
            return null;
        }
        if (tag == 'M') {
            skipType(1);
        } else if (tag != 'H') {
            throw new Hessian2FormatException("expected a map, found tag 0x" + Integer.toHexString(tag));
        }
        final Map<String, String> map = new LinkedHashMap<>();
        while (peekTag() != 'Z') {
            final Object key = readScalar();
            final Object value = readScalar();
            if (key instanceof String && value != COMPLEX && value != null) {
                map.put((String) key, String.valueOf(value));
            }
        }
        buf.skipBytes(1);
        return Collections.unmodifiableMap(map);
    }

    /**
     * Reads the start of a map, {@code H} or {@code M} with its type, and returns true; reads a Hessian {@code N} and
     * returns false. For walking a map entry by entry with {@link #readScalar()} and {@link #atMapEnd()}.
     */
    public boolean readMapStart() {
        final int tag = readTag();
        if (tag == 'N') {
            return false;
        }
        if (tag == 'M') {
            skipType(1);
        } else if (tag != 'H') {
            throw new Hessian2FormatException("expected a map, found tag 0x" + Integer.toHexString(tag));
        }
        return true;
    }

    /** Whether the next byte is the {@code Z} that ends a map or list; it is not read. */
    public boolean atMapEnd() {
        return peekTag() == 'Z';
    }

    /** Skips one value of any kind. */
    public void skipValue() {
        skipValue(readTag(), 0);
    }

    private Object readScalar(int tag) {
        if (tag == 'N') {
            return null;
        }
        if (tag == 'T') {
            return Boolean.TRUE;
        }
        if (tag == 'F') {
            return Boolean.FALSE;
        }
        if (isStringTag(tag)) {
            final StringBuilder sb = new StringBuilder();
            readStringChunks(tag, sb);
            return sb.toString();
        }
        if (tag >= 0x80 && tag <= 0xbf) {
            return tag - 0x90;
        }
        if (tag >= 0xc0 && tag <= 0xcf) {
            return ((tag - 0xc8) << 8) | readU8();
        }
        if (tag >= 0xd0 && tag <= 0xd7) {
            return ((tag - 0xd4) << 16) | (readU8() << 8) | readU8();
        }
        if (tag == 'I') {
            ensure(4);
            return buf.readInt();
        }
        if (tag >= 0xd8 && tag <= 0xef) {
            return (long) (tag - 0xe0);
        }
        if (tag >= 0xf0 && tag <= 0xff) {
            return (long) (((tag - 0xf8) << 8) | readU8());
        }
        if (tag >= 0x38 && tag <= 0x3f) {
            return (long) (((tag - 0x3c) << 16) | (readU8() << 8) | readU8());
        }
        if (tag == 0x59) {
            ensure(4);
            return (long) buf.readInt();
        }
        if (tag == 'L' || tag == 'J') {
            ensure(8);
            return buf.readLong();
        }
        if (tag == 'K') {
            ensure(4);
            return buf.readInt() * 60000L;
        }
        if (tag == 'D') {
            ensure(8);
            return buf.readDouble();
        }
        if (tag == 0x5b) {
            return 0.0d;
        }
        if (tag == 0x5c) {
            return 1.0d;
        }
        if (tag == 0x5d) {
            ensure(1);
            return (double) buf.readByte();
        }
        if (tag == 0x5e) {
            ensure(2);
            return (double) buf.readShort();
        }
        if (tag == 0x5f) {
            ensure(4);
            return buf.readInt() * 0.001d;
        }
        skipValue(tag, 0);
        return COMPLEX;
    }

    private void skipValue(int tag, int depth) {
        if (depth > MAX_DEPTH) {
            throw new Hessian2FormatException("nesting deeper than " + MAX_DEPTH);
        }
        if (tag <= 0x1f) { // short string
            skipUtf8Chars(tag);
            return;
        }
        if (tag <= 0x2f) { // short binary
            skip(tag - 0x20);
            return;
        }
        if (tag <= 0x33) { // medium string
            skipUtf8Chars(((tag - 0x30) << 8) | readU8());
            return;
        }
        if (tag <= 0x37) { // medium binary
            skip(((tag - 0x34) << 8) | readU8());
            return;
        }
        if (tag <= 0x3f) { // three-octet long
            skip(2);
            return;
        }
        if (tag >= 0x60 && tag <= 0x6f) {
            skipObjectFields(tag - 0x60, depth);
            return;
        }
        if (tag >= 0x70 && tag <= 0x77) {
            skipType(depth);
            skipValues(tag - 0x70, depth);
            return;
        }
        if (tag >= 0x78 && tag <= 0x7f) {
            skipValues(tag - 0x78, depth);
            return;
        }
        if (tag >= 0x80 && tag <= 0xbf) {
            return;
        }
        if (tag >= 0xc0 && tag <= 0xcf) {
            skip(1);
            return;
        }
        if (tag >= 0xd0 && tag <= 0xd7) {
            skip(2);
            return;
        }
        if (tag >= 0xd8 && tag <= 0xef) {
            return;
        }
        if (tag >= 0xf0) {
            skip(1);
            return;
        }
        switch (tag) {
            case 'N':
            case 'T':
            case 'F':
            case 0x5b:
            case 0x5c:
                return;
            case 0x5d:
                skip(1);
                return;
            case 0x5e:
                skip(2);
                return;
            case 'I':
            case 'K':
            case 0x59:
            case 0x5f:
            case 'Q':
                if (tag == 'Q') {
                    readInt();
                } else {
                    skip(4);
                }
                return;
            case 'L':
            case 'J':
            case 'D':
                skip(8);
                return;
            case 'R':
            case 'S':
                readStringChunks(tag, null);
                return;
            case 'A':
            case 'B':
                skipBinaryChunks(tag);
                return;
            case 'C': { // class definitions, then the value that follows them (a loop: no recursion per definition)
                int next;
                do {
                    readClassDef();
                    next = readTag();
                } while (next == 'C');
                skipValue(next, depth);
                return;
            }
            case 'O':
                skipObjectFields(readInt(), depth);
                return;
            case 'U': // variable-length typed list
                skipType(depth);
                skipUntilEnd(depth, 1);
                return;
            case 'V': // fixed-length typed list
                skipType(depth);
                skipValues(readInt(), depth);
                return;
            case 'W':
                skipUntilEnd(depth, 1);
                return;
            case 'X':
                skipValues(readInt(), depth);
                return;
            case 'M':
                skipType(depth);
                skipUntilEnd(depth, 2);
                return;
            case 'H':
                skipUntilEnd(depth, 2);
                return;
            default:
                throw new Hessian2FormatException("unexpected tag 0x" + Integer.toHexString(tag));
        }
    }

    private void readClassDef() {
        final String name = readString();
        if (name == null) {
            throw new Hessian2FormatException("class definition without a name");
        }
        final int fields = readInt();
        if (fields < 0) {
            throw new Hessian2FormatException("class definition with " + fields + " fields");
        }
        for (int i = 0; i < fields; i++) {
            if (readString() == null) {
                throw new Hessian2FormatException("class definition with a null field name");
            }
        }
        classDefFieldCounts.add(fields);
    }

    private void skipObjectFields(int defIndex, int depth) {
        if (defIndex < 0 || defIndex >= classDefFieldCounts.size()) {
            throw new Hessian2FormatException("object refers to undefined class definition " + defIndex);
        }
        skipValues(classDefFieldCounts.get(defIndex), depth);
    }

    private void skipValues(int count, int depth) {
        if (count < 0) {
            throw new Hessian2FormatException("negative length " + count);
        }
        for (int i = 0; i < count; i++) {
            skipValue(readTag(), depth + 1);
        }
    }

    private void skipUntilEnd(int depth, int valuesPerEntry) {
        while (peekTag() != 'Z') {
            for (int i = 0; i < valuesPerEntry; i++) {
                skipValue(readTag(), depth + 1);
            }
        }
        buf.skipBytes(1);
    }

    /** A list or map type: a string (remembered by the writer) or an int reference to one. */
    private void skipType(int depth) {
        final int tag = readTag();
        if (isStringTag(tag)) {
            skipValue(tag, depth);
            return;
        }
        final Object ref = readScalar(tag);
        if (!(ref instanceof Integer)) {
            throw new Hessian2FormatException("expected a type, found tag 0x" + Integer.toHexString(tag));
        }
    }

    private static boolean isStringTag(int tag) {
        return tag <= 0x1f || (tag >= 0x30 && tag <= 0x33) || tag == 'R' || tag == 'S';
    }

    /** Reads the string chunks starting with {@code tag} into {@code sb}, or skips them when it is null. */
    private void readStringChunks(int tag, StringBuilder sb) {
        for (;;) {
            final int chunk = stringChunk(tag);
            if (sb == null) {
                skipUtf8Chars(chunk >>> 1);
            } else {
                readUtf8Chars(chunk >>> 1, sb);
            }
            if ((chunk & 1) != 0) {
                return;
            }
            tag = readTag();
        }
    }

    private void skipBinaryChunks(int tag) {
        for (;;) {
            final int chunk = binaryChunk(tag);
            skip(chunk >>> 1);
            if ((chunk & 1) != 0) {
                return;
            }
            tag = readTag();
        }
    }

    /** A string chunk's length (in UTF-16 units) shifted left by one, with the low bit set on the final chunk. */
    private int stringChunk(int tag) {
        if (tag <= 0x1f) {
            return tag << 1 | 1;
        } else if (tag >= 0x30 && tag <= 0x33) {
            return (((tag - 0x30) << 8) | readU8()) << 1 | 1;
        } else if (tag == 'S' || tag == 'R') {
            ensure(2);
            return buf.readUnsignedShort() << 1 | (tag == 'S' ? 1 : 0);
        }
        throw new Hessian2FormatException("bad string chunk tag 0x" + Integer.toHexString(tag));
    }

    /** A binary chunk's length in bytes shifted left by one, with the low bit set on the final chunk. */
    private int binaryChunk(int tag) {
        if (tag >= 0x20 && tag <= 0x2f) {
            return (tag - 0x20) << 1 | 1;
        } else if (tag >= 0x34 && tag <= 0x37) {
            return (((tag - 0x34) << 8) | readU8()) << 1 | 1;
        } else if (tag == 'A' || tag == 'B') {
            ensure(2);
            return buf.readUnsignedShort() << 1 | (tag == 'B' ? 1 : 0);
        }
        throw new Hessian2FormatException("bad binary chunk tag 0x" + Integer.toHexString(tag));
    }

    /** Hessian string lengths count UTF-16 units; each is one to three bytes of UTF-8. */
    private void skipUtf8Chars(int chars) {
        int remaining = chars;
        while (remaining > 0) {
            final int b = readU8();
            final int n = utf8Length(b);
            skip(n - 1);
            remaining -= n == 4 ? 2 : 1;
        }
    }

    private void readUtf8Chars(int chars, StringBuilder sb) {
        int remaining = chars;
        while (remaining > 0) {
            final int b = readU8();
            final int n = utf8Length(b);
            if (n == 1) {
                sb.append((char) b);
            } else if (n == 2) {
                sb.append((char) (((b & 0x1f) << 6) | (readU8() & 0x3f)));
            } else if (n == 3) {
                sb.append((char) (((b & 0x0f) << 12) | ((readU8() & 0x3f) << 6) | (readU8() & 0x3f)));
            } else {
                final int cp = ((b & 0x07) << 18) | ((readU8() & 0x3f) << 12) | ((readU8() & 0x3f) << 6)
                               | (readU8() & 0x3f);
                if (cp > Character.MAX_CODE_POINT) {
                    // StringBuilder.appendCodePoint would throw IllegalArgumentException: a format error here.
                    throw new Hessian2FormatException(String.format(
                            "string: UTF-8 sequence of code point 0x%X (expected: <= 0x10FFFF)", cp));
                }
                sb.appendCodePoint(cp);
            }
            remaining -= n == 4 ? 2 : 1;
        }
    }

    private static int utf8Length(int b) {
        if (b < 0x80) {
            return 1;
        }
        if ((b & 0xe0) == 0xc0) {
            return 2;
        }
        if ((b & 0xf0) == 0xe0) {
            return 3;
        }
        if ((b & 0xf8) == 0xf0) {
            return 4;
        }
        throw new Hessian2FormatException("bad UTF-8 lead byte 0x" + Integer.toHexString(b));
    }

    private int peekTag() {
        ensure(1);
        return buf.getUnsignedByte(buf.readerIndex());
    }

    private int readTag() {
        return readU8();
    }

    private int readU8() {
        ensure(1);
        return buf.readUnsignedByte();
    }

    private void skip(int n) {
        ensure(n);
        buf.skipBytes(n);
    }

    private void ensure(int n) {
        if (n < 0 || buf.readableBytes() < n) {
            throw new Hessian2FormatException("truncated value: needs " + n + " bytes, " + buf.readableBytes()
                                              + " left");
        }
    }
}
