package io.jmesh.codec.bolt;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.nio.ByteBuffer;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;

import io.jmesh.codec.internal.FrameMessage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;

/**
 * A decoded view of one Bolt frame: the fixed header fields, the class name and the header map, over
 * the frame's bytes, which the message owns (one reference). The content is not deserialized.
 *
 * <p>The message is immutable except for its reference count. {@link #withRequestId(int)} returns a
 * view with another request id over the same bytes; the encoder then writes a new fixed header (and
 * CRC32) in front of the unchanged rest. Releasing a message releases its frame.
 */
public abstract class BoltMessage extends FrameMessage<BoltMessage> {

    /** Protocol byte of Bolt v1. */
    public static final byte PROTOCOL_V1 = 1;
    /** Protocol byte of Bolt v2. */
    public static final byte PROTOCOL_V2 = 2;
    /** Type byte: response. */
    public static final byte TYPE_RESPONSE = 0;
    /** Type byte: request expecting a response. */
    public static final byte TYPE_REQUEST = 1;
    /** Type byte: oneway request. */
    public static final byte TYPE_ONEWAY = 2;
    /** Command code: heartbeat (request or ack). */
    public static final short CMD_HEARTBEAT = 0;
    /** Command code: RPC request. */
    public static final short CMD_REQUEST = 1;
    /** Command code: RPC response. */
    public static final short CMD_RESPONSE = 2;
    /** Codec byte of Hessian2, SOFARPC's default. */
    public static final byte CODEC_HESSIAN2 = 1;
    /**
     * Bit of the v2 switch byte that asks for a CRC32 after the content. sofa-bolt honours it only when
     * ver1 is {@link #V2_VERSION_CRC}: with ver1 = 1 no CRC is written or expected, whatever the switch.
     */
    public static final int SWITCH_CRC = 0x01;
    /** The v2 ver1 value from which the CRC switch applies (sofa-bolt's {@code PROTOCOL_VERSION_2}). */
    public static final byte V2_VERSION_CRC = 2;

    /** Header map key: SOFARPC's service unique name, {@code interface:version[:uniqueId]}. */
    public static final String HEADER_SERVICE = "service";
    /** Header map key: target service, {@code interface:version[:uniqueId]}. */
    public static final String HEADER_TARGET_SERVICE = "sofa_head_target_service";
    /** Header map key: method name. */
    public static final String HEADER_METHOD_NAME = "sofa_head_method_name";
    /** Header map key: target application. */
    public static final String HEADER_TARGET_APP = "sofa_head_target_app";

    final byte protocol;
    final byte ver1;
    final byte type;
    final short cmdCode;
    final byte ver2;
    final int requestId;
    final int frameRequestId;
    final byte codec;
    final byte protocolSwitch;
    final String className;
    final Map<String, String> headers;
    final int contentOffset;
    final int contentLength;

    BoltMessage(Parsed p) {
        super(p.frame);
        protocol = p.protocol;
        ver1 = p.ver1;
        type = p.type;
        cmdCode = p.cmdCode;
        ver2 = p.ver2;
        requestId = p.requestId;
        frameRequestId = p.requestId;
        codec = p.codec;
        protocolSwitch = p.protocolSwitch;
        className = p.className;
        headers = p.headers;
        contentOffset = p.contentOffset;
        contentLength = p.contentLength;
    }

    /** Copy with another request id, sharing the frame and its reference count. */
    BoltMessage(BoltMessage m, int newRequestId) {
        super(m.frame);
        protocol = m.protocol;
        ver1 = m.ver1;
        type = m.type;
        cmdCode = m.cmdCode;
        ver2 = m.ver2;
        requestId = newRequestId;
        frameRequestId = m.frameRequestId;
        codec = m.codec;
        protocolSwitch = m.protocolSwitch;
        className = m.className;
        headers = m.headers;
        contentOffset = m.contentOffset;
        contentLength = m.contentLength;
    }

    /** {@link #PROTOCOL_V1} or {@link #PROTOCOL_V2}. */
    public final byte protocol() {
        return protocol;
    }

    /** The v2 {@code ver1} byte; 0 for v1. */
    public final byte ver1() {
        return ver1;
    }

    /** {@link #TYPE_RESPONSE}, {@link #TYPE_REQUEST} or {@link #TYPE_ONEWAY}. */
    public final byte type() {
        return type;
    }

    /** {@link #CMD_HEARTBEAT}, {@link #CMD_REQUEST} or {@link #CMD_RESPONSE}. */
    public final short cmdCode() {
        return cmdCode;
    }

    /** The {@code ver2} byte. */
    public final byte ver2() {
        return ver2;
    }

    /** The request id this message carries (after {@link #withRequestId(int)}, the new one). */
    public final int requestId() {
        return requestId;
    }

    /** The codec (serialization) byte; {@link #CODEC_HESSIAN2} for SOFARPC. */
    public final byte codec() {
        return codec;
    }

    /** The v2 switch byte; 0 for v1. */
    public final byte protocolSwitch() {
        return protocolSwitch;
    }

    /** Whether a CRC32 follows the content: v2 with ver1 = 2 and {@link #SWITCH_CRC} set. */
    public final boolean hasCrc() {
        return crcPresent(protocol, ver1, protocolSwitch);
    }

    /** sofa-bolt's rule: a CRC32 follows the content of a v2 frame whose ver1 is 2 and switch bit 0 set. */
    static boolean crcPresent(byte protocol, byte ver1, byte protocolSwitch) {
        return protocol == PROTOCOL_V2 && ver1 == V2_VERSION_CRC && (protocolSwitch & SWITCH_CRC) != 0;
    }

    /** Whether this is a heartbeat or a heartbeat ack. */
    public final boolean isHeartbeat() {
        return cmdCode == CMD_HEARTBEAT;
    }

    /** The class name of the content, e.g. {@code com.alipay.sofa.rpc.core.request.SofaRequest}; may be empty. */
    public final String className() {
        return className;
    }

    /** The header map, unmodifiable, in wire order; entries with a null key or value are left out. */
    public final Map<String, String> headers() {
        return headers;
    }

    /** A header map entry, or {@code null}. */
    public final String header(String key) {
        return headers.get(key);
    }

    /** The content (serialized body), a slice of the frame; not retained: retain it to keep it. */
    public final ByteBuf content() {
        return frame.slice(frame.readerIndex() + contentOffset, contentLength);
    }

    /** The length of the content, in bytes. */
    public final int contentLength() {
        return contentLength;
    }

    /** The length of the whole frame, in bytes. */
    public final int frameLength() {
        return frame.readableBytes();
    }

    /**
     * Returns a view of this message with another request id, sharing this message's frame and
     * reference count (like {@link ByteBuf#duplicate()}): release one of the two, not both.
     */
    public abstract BoltMessage withRequestId(int requestId);

    /**
     * Returns the bytes of this frame for writing, with one new reference the caller owns. The same
     * bytes as received when the request id is unchanged; otherwise a new fixed header (and CRC32)
     * around the unchanged class name, header map and content.
     */
    public final ByteBuf encode(ByteBufAllocator alloc) {
        if (requestId == frameRequestId) {
            return frame.retainedDuplicate();
        }
        final int fixed = fixedHeaderLength(protocol, type);
        final int crcLength = hasCrc() ? 4 : 0;
        final int total = frame.readableBytes();
        final ByteBuf head = alloc.buffer(fixed);
        head.writeBytes(frame, frame.readerIndex(), fixed);
        head.setInt(requestIdOffset(protocol), requestId);
        final ByteBuf rest = frame.retainedSlice(frame.readerIndex() + fixed, total - fixed - crcLength);
        final CompositeByteBuf out = alloc.compositeBuffer(3);
        out.addComponent(true, head);
        out.addComponent(true, rest);
        if (crcLength != 0) {
            final CRC32 crc = new CRC32();
            update(crc, head, head.readerIndex(), head.readableBytes());
            update(crc, rest, rest.readerIndex(), rest.readableBytes());
            out.addComponent(true, alloc.buffer(4).writeInt((int) crc.getValue()));
        }
        return out;
    }

    // ---- layout ----

    static int fixedHeaderLength(byte protocol, byte type) {
        final int v1 = type == TYPE_RESPONSE ? 20 : 22;
        return protocol == PROTOCOL_V2 ? v1 + 2 : v1;
    }

    static int requestIdOffset(byte protocol) {
        return protocol == PROTOCOL_V2 ? 6 : 5;
    }

    /** Offset of the timeout (request) or respStatus (response). */
    static int timeoutOrStatusOffset(byte protocol) {
        return protocol == PROTOCOL_V2 ? 12 : 10;
    }

    static void update(CRC32 crc, ByteBuf buf, int index, int length) {
        if (length == 0) {
            return;
        }
        for (ByteBuffer nio : buf.nioBuffers(index, length)) {
            crc.update(nio);
        }
    }

    /** The fields of a frame, parsed by {@link #parse(ByteBuf)}. */
    static final class Parsed {
        ByteBuf frame;
        byte protocol;
        byte ver1;
        byte type;
        short cmdCode;
        byte ver2;
        int requestId;
        byte codec;
        byte protocolSwitch;
        int timeoutOrStatus;
        String className;
        Map<String, String> headers;
        int contentOffset;
        int contentLength;
    }

    /**
     * Parses a complete frame (its readable bytes, exactly one frame) whose lengths the decoder has
     * already checked against its limits; checks the CRC32 and the header map. Does not take ownership
     * of {@code frame} unless it returns normally, in which case the message owns it.
     */
    static BoltMessage parse(ByteBuf frame) {
        final int base = frame.readerIndex();
        final Parsed p = new Parsed();
        p.frame = frame;
        p.protocol = frame.getByte(base);
        final boolean v2 = p.protocol == PROTOCOL_V2;
        int i = base + 1;
        if (v2) {
            p.ver1 = frame.getByte(i++);
        }
        p.type = frame.getByte(i++);
        p.cmdCode = frame.getShort(i);
        i += 2;
        p.ver2 = frame.getByte(i++);
        p.requestId = frame.getInt(i);
        i += 4;
        p.codec = frame.getByte(i++);
        if (v2) {
            p.protocolSwitch = frame.getByte(i++);
        }
        if (p.type == TYPE_RESPONSE) {
            p.timeoutOrStatus = frame.getShort(i);
            i += 2;
        } else {
            p.timeoutOrStatus = frame.getInt(i);
            i += 4;
        }
        final int classLen = frame.getUnsignedShort(i);
        final int headerLen = frame.getUnsignedShort(i + 2);
        final int contentLen = frame.getInt(i + 4);
        i += 8;
        final int crcLen = crcPresent(p.protocol, p.ver1, p.protocolSwitch) ? 4 : 0;
        if (i - base + classLen + headerLen + (long) contentLen + crcLen != frame.readableBytes()) {
            throw new BoltProtocolException("frame: " + frame.readableBytes() + " bytes (expected: "
                                            + (i - base + classLen + headerLen + (long) contentLen + crcLen)
                                            + ")");
        }
        if (crcLen != 0) {
            final CRC32 crc = new CRC32();
            final int crcIndex = base + frame.readableBytes() - 4;
            update(crc, frame, base, crcIndex - base);
            final int expected = frame.getInt(crcIndex);
            if ((int) crc.getValue() != expected) {
                throw new BoltProtocolException(String.format(
                        "crc32: 0x%08x (expected: 0x%08x, computed over the frame)", expected,
                        (int) crc.getValue()));
            }
        }
        p.className = className(frame, i, classLen);
        i += classLen;
        p.headers = parseHeaderMap(frame, i, headerLen);
        i += headerLen;
        p.contentOffset = i - base;
        p.contentLength = contentLen;
        if (p.type == TYPE_RESPONSE) {
            return new BoltResponse(p);
        }
        return new BoltRequest(p);
    }

    /** Class names SOFARPC puts in every frame, returned as constants instead of decoded each time. */
    private static final String[] KNOWN_CLASS_NAMES = {
        "com.alipay.sofa.rpc.core.request.SofaRequest",
        "com.alipay.sofa.rpc.core.response.SofaResponse",
    };
    private static final byte[][] KNOWN_CLASS_NAME_BYTES = {
        KNOWN_CLASS_NAMES[0].getBytes(UTF_8),
        KNOWN_CLASS_NAMES[1].getBytes(UTF_8),
    };

    private static String className(ByteBuf frame, int index, int length) {
        if (length == 0) {
            return "";
        }
        for (int k = 0; k < KNOWN_CLASS_NAME_BYTES.length; k++) {
            final byte[] known = KNOWN_CLASS_NAME_BYTES[k];
            if (known.length == length && sameBytes(frame, index, known)) {
                return KNOWN_CLASS_NAMES[k];
            }
        }
        return frame.toString(index, length, UTF_8);
    }

    private static boolean sameBytes(ByteBuf buf, int index, byte[] bytes) {
        // Compare from the end: the names share their long package prefix.
        for (int j = bytes.length - 1; j >= 0; j--) {
            if (buf.getByte(index + j) != bytes[j]) {
                return false;
            }
        }
        return true;
    }

    private static Map<String, String> parseHeaderMap(ByteBuf buf, int index, int length) {
        if (length == 0) {
            return Collections.emptyMap();
        }
        final Map<String, String> map = new LinkedHashMap<>();
        final int end = index + length;
        final int[] next = new int[1];
        int i = index;
        while (i < end) {
            final String key;
            final String value;
            key = readHeaderString(buf, i, end, next, "key");
            i = next[0];
            value = readHeaderString(buf, i, end, next, "value");
            i = next[0];
            if (key != null && value != null) {
                map.put(key, value);
            }
        }
        return Collections.unmodifiableMap(map);
    }

    static String readHeaderString(ByteBuf buf, int i, int end, int[] next, String what) {
        if (end - i < 4) {
            throw new BoltProtocolException("header." + what + ": truncated length (expected: 4 bytes, "
                                            + (end - i) + " left in the header map)");
        }
        final int len = buf.getInt(i);
        i += 4;
        if (len == -1) {
            next[0] = i;
            return null;
        }
        if (len < 0 || len > end - i) {
            throw new BoltProtocolException("header." + what + ".length: " + len + " (expected: -1 or 0.."
                                            + (end - i) + ")");
        }
        next[0] = i + len;
        return buf.toString(i, len, UTF_8);
    }

    /**
     * Writes a complete frame; used for locally built messages. The CRC32 is written when
     * {@link #crcPresent} says so.
     */
    static ByteBuf writeFrame(ByteBufAllocator alloc, byte protocol, byte ver1, byte type, short cmdCode, byte ver2,
                              int requestId, byte codec, byte protocolSwitch, int timeoutOrStatus,
                              String className, Map<String, String> headers, ByteBuf content) {
        final byte[] classBytes = className == null ? new byte[0] : className.getBytes(UTF_8);
        final ByteBuf out = alloc.buffer();
        try {
            final int base = out.writerIndex();
            out.writeByte(protocol);
            if (protocol == PROTOCOL_V2) {
                out.writeByte(ver1);
            }
            out.writeByte(type);
            out.writeShort(cmdCode);
            out.writeByte(ver2);
            out.writeInt(requestId);
            out.writeByte(codec);
            if (protocol == PROTOCOL_V2) {
                out.writeByte(protocolSwitch);
            }
            if (type == TYPE_RESPONSE) {
                out.writeShort(timeoutOrStatus);
            } else {
                out.writeInt(timeoutOrStatus);
            }
            out.writeShort(classBytes.length);
            final int headerLenIndex = out.writerIndex();
            out.writeShort(0);
            out.writeInt(content == null ? 0 : content.readableBytes());
            out.writeBytes(classBytes);
            final int headerStart = out.writerIndex();
            if (headers != null) {
                for (Map.Entry<String, String> e : headers.entrySet()) {
                    final byte[] k = e.getKey().getBytes(UTF_8);
                    final byte[] v = e.getValue().getBytes(UTF_8);
                    out.writeInt(k.length).writeBytes(k).writeInt(v.length).writeBytes(v);
                }
            }
            final int headerLen = out.writerIndex() - headerStart;
            if (headerLen > 0xffff) {
                throw new IllegalArgumentException("headers: " + headerLen + " bytes (expected: <= 65535)");
            }
            out.setShort(headerLenIndex, headerLen);
            if (content != null) {
                out.writeBytes(content, content.readerIndex(), content.readableBytes());
            }
            if (crcPresent(protocol, ver1, protocolSwitch)) {
                final CRC32 crc = new CRC32();
                update(crc, out, base, out.writerIndex() - base);
                out.writeInt((int) crc.getValue());
            }
            return out;
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "(v" + protocol + ", id=" + requestId + ", cmd=" + cmdCode
               + ", class=" + className + ", headers=" + headers.size() + ", content=" + contentLength + "B)";
    }
}
