package io.jmesh.codec.dubbo;

import io.jmesh.codec.internal.FrameMessage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;

/**
 * A decoded view of one Dubbo frame: the 16-byte header's fields over the frame's bytes, which the
 * message owns (one reference). The body is kept as received.
 *
 * <p>Immutable except for its reference count. {@link #withRequestId(long)} returns a view with another
 * request id over the same bytes; the encoder then writes a new 16-byte header in front of the
 * unchanged body. Releasing a message releases its frame.
 */
public abstract class DubboMessage extends FrameMessage<DubboMessage> {

    /** The magic number that starts every frame. */
    public static final short MAGIC = (short) 0xdabb;
    /** Length of the fixed header. */
    public static final int HEADER_LENGTH = 16;
    /** Flag bit: request (else response). */
    public static final int FLAG_REQUEST = 0x80;
    /** Flag bit: two-way request (a response is expected). */
    public static final int FLAG_TWO_WAY = 0x40;
    /** Flag bit: event (heartbeat, read-only notice). */
    public static final int FLAG_EVENT = 0x20;
    /** Mask of the serialization id in the flag byte. */
    public static final int SERIALIZATION_MASK = 0x1f;
    /** Serialization id of Hessian2, the one whose bodies this codec reads. */
    public static final byte SERIALIZATION_HESSIAN2 = 2;

    final byte flag;
    final byte status;
    final long requestId;
    final long frameRequestId;

    DubboMessage(ByteBuf frame) {
        super(frame);
        final int base = frame.readerIndex();
        flag = frame.getByte(base + 2);
        status = frame.getByte(base + 3);
        requestId = frame.getLong(base + 4);
        frameRequestId = requestId;
    }

    DubboMessage(DubboMessage m, long newRequestId) {
        super(m.frame);
        flag = m.flag;
        status = m.status;
        requestId = newRequestId;
        frameRequestId = m.frameRequestId;
    }

    /** The flag byte. */
    public final byte flag() {
        return flag;
    }

    /** The serialization id (low 5 bits of the flag); {@link #SERIALIZATION_HESSIAN2} = 2. */
    public final int serializationId() {
        return flag & SERIALIZATION_MASK;
    }

    /** Whether the event bit is set (heartbeats and other events). */
    public final boolean isEvent() {
        return (flag & FLAG_EVENT) != 0;
    }

    /** Whether this is a heartbeat: an event whose body is null (Hessian2 {@code N}) or empty. */
    public final boolean isHeartbeat() {
        if (!isEvent()) {
            return false;
        }
        final int len = bodyLength();
        return len == 0 || (len == 1 && frame.getByte(frame.readerIndex() + HEADER_LENGTH) == 'N');
    }

    /** The request id this message carries (after {@link #withRequestId(long)}, the new one). */
    public final long requestId() {
        return requestId;
    }

    /** The body, a slice of the frame; not retained: retain it to keep it. */
    public final ByteBuf body() {
        return frame.slice(frame.readerIndex() + HEADER_LENGTH, bodyLength());
    }

    /** The length of the body, in bytes. */
    public final int bodyLength() {
        return frame.readableBytes() - HEADER_LENGTH;
    }

    /** The length of the whole frame, in bytes. */
    public final int frameLength() {
        return frame.readableBytes();
    }

    /**
     * Returns a view of this message with another request id, sharing this message's frame and
     * reference count (like {@link ByteBuf#duplicate()}): release one of the two, not both.
     */
    public abstract DubboMessage withRequestId(long requestId);

    /**
     * Returns the bytes of this frame for writing, with one new reference the caller owns: the bytes
     * as received when the request id is unchanged, otherwise a new header before the unchanged body.
     */
    public final ByteBuf encode(ByteBufAllocator alloc) {
        if (requestId == frameRequestId) {
            return frame.retainedDuplicate();
        }
        final ByteBuf head = alloc.buffer(HEADER_LENGTH);
        head.writeBytes(frame, frame.readerIndex(), HEADER_LENGTH);
        head.setLong(4, requestId);
        final CompositeByteBuf out = alloc.compositeBuffer(2);
        out.addComponent(true, head);
        out.addComponent(true, frame.retainedSlice(frame.readerIndex() + HEADER_LENGTH, bodyLength()));
        return out;
    }

    /** Writes a frame: header and the readable bytes of {@code body} (copied). */
    static ByteBuf writeFrame(ByteBufAllocator alloc, int flag, int status, long requestId, ByteBuf body) {
        final ByteBuf out = alloc.buffer(HEADER_LENGTH + body.readableBytes());
        out.writeShort(MAGIC);
        out.writeByte(flag);
        out.writeByte(status);
        out.writeLong(requestId);
        out.writeInt(body.readableBytes());
        out.writeBytes(body, body.readerIndex(), body.readableBytes());
        return out;
    }
}
