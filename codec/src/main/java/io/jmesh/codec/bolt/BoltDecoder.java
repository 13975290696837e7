package io.jmesh.codec.bolt;

import java.util.concurrent.atomic.LongAdder;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.ProtocolDetectionState;
import io.jmesh.codec.internal.FailClosedFrameDecoder;

/**
 * Decodes Bolt v1 and v2 frames into {@link BoltRequest}s and {@link BoltResponse}s (layout in the
 * {@linkplain io.jmesh.codec.bolt package documentation}).
 *
 * <p>Limits are checked from the fixed header, before the rest of the frame is buffered: a frame
 * longer than {@code maxFrameLength}, a class name longer than {@code maxClassNameLength} or a header
 * map longer than {@code maxHeaderLength} throws {@link BoltProtocolException}, as do an unknown
 * protocol, type or command code, a bad CRC32 and a malformed header map. After the first error the
 * decoder discards all input; the caller closes the connection. Every error is logged and counted in
 * {@link #protocolErrors()}. An incomplete frame simply waits for more bytes (an idle timeout is the
 * caller's business).
 *
 * <p>One instance per channel; runs on the channel's event loop.
 */
public final class BoltDecoder extends FailClosedFrameDecoder {

    private static final Logger logger = LoggerFactory.getLogger(BoltDecoder.class);

    /** Default largest frame, all headers and content included: 8 MiB. */
    public static final int DEFAULT_MAX_FRAME_LENGTH = 8 * 1024 * 1024;
    /** Default largest header map: 16 KiB (the wire allows 64 KiB). */
    public static final int DEFAULT_MAX_HEADER_LENGTH = 16 * 1024;
    /** Default longest class name: 1 KiB. */
    public static final int DEFAULT_MAX_CLASS_NAME_LENGTH = 1024;

    private static final LongAdder protocolErrors = new LongAdder();

    private final int maxFrameLength;
    private final int maxHeaderLength;
    private final int maxClassNameLength;

    /** A decoder with the default limits. */
    public BoltDecoder() {
        this(DEFAULT_MAX_FRAME_LENGTH, DEFAULT_MAX_HEADER_LENGTH, DEFAULT_MAX_CLASS_NAME_LENGTH);
    }

    /**
     * A decoder with the given limits, in bytes.
     *
     * @throws IllegalArgumentException if a limit is not positive
     */
    public BoltDecoder(int maxFrameLength, int maxHeaderLength, int maxClassNameLength) {
        super(logger, protocolErrors, "Bolt");
        if (maxFrameLength <= 0) {
            throw new IllegalArgumentException("maxFrameLength: " + maxFrameLength + " (expected: > 0)");
        }
        if (maxHeaderLength < 0 || maxHeaderLength > 0xffff) {
            throw new IllegalArgumentException("maxHeaderLength: " + maxHeaderLength + " (expected: 0..65535)");
        }
        if (maxClassNameLength < 0 || maxClassNameLength > 0xffff) {
            throw new IllegalArgumentException("maxClassNameLength: " + maxClassNameLength
                                               + " (expected: 0..65535)");
        }
        this.maxFrameLength = maxFrameLength;
        this.maxHeaderLength = maxHeaderLength;
        this.maxClassNameLength = maxClassNameLength;
    }

    /** Protocol errors seen by all Bolt decoders of this class loader since start. */
    public static long protocolErrors() {
        return protocolErrors.sum();
    }

    /**
     * Whether the readable bytes of {@code in} start a Bolt frame: checks the protocol byte (1 or 2),
     * then (after ver1 for v2) the type and the command code. Does not move
     * the reader index.
     */
    public static ProtocolDetectionState detect(ByteBuf in) {
        final int base = in.readerIndex();
        final int readable = in.readableBytes();
        if (readable < 1) {
            return ProtocolDetectionState.NEEDS_MORE_DATA;
        }
        final byte protocol = in.getByte(base);
        if (protocol != BoltMessage.PROTOCOL_V1 && protocol != BoltMessage.PROTOCOL_V2) {
            return ProtocolDetectionState.INVALID;
        }
        final int typeIndex = protocol == BoltMessage.PROTOCOL_V2 ? 2 : 1;
        if (readable < typeIndex + 3) {
            if (readable > typeIndex && !validType(in.getByte(base + typeIndex))) {
                return ProtocolDetectionState.INVALID;
            }
            return ProtocolDetectionState.NEEDS_MORE_DATA;
        }
        final byte type = in.getByte(base + typeIndex);
        final short cmd = in.getShort(base + typeIndex + 1);
        return validType(type) && validCommand(type, cmd) ? ProtocolDetectionState.DETECTED
                                                          : ProtocolDetectionState.INVALID;
    }

    private static boolean validType(byte type) {
        return type == BoltMessage.TYPE_RESPONSE || type == BoltMessage.TYPE_REQUEST
               || type == BoltMessage.TYPE_ONEWAY;
    }

    private static boolean validCommand(byte type, short cmd) {
        if (type == BoltMessage.TYPE_RESPONSE) {
            return cmd == BoltMessage.CMD_RESPONSE || cmd == BoltMessage.CMD_HEARTBEAT;
        }
        return cmd == BoltMessage.CMD_REQUEST || cmd == BoltMessage.CMD_HEARTBEAT;
    }

    @Override
    protected boolean isProtocolError(io.netty.handler.codec.DecoderException e) {
        return e instanceof BoltProtocolException;
    }

    @Override
    protected BoltMessage decodeFrame(ByteBuf in) {
        final int base = in.readerIndex();
        final int readable = in.readableBytes();
        if (readable < 1) {
            return null;
        }
        final byte protocol = in.getByte(base);
        if (protocol != BoltMessage.PROTOCOL_V1 && protocol != BoltMessage.PROTOCOL_V2) {
            throw new BoltProtocolException(String.format("proto: 0x%02x (expected: 0x01 or 0x02)", protocol));
        }
        final boolean v2 = protocol == BoltMessage.PROTOCOL_V2;
        final int typeIndex = v2 ? 2 : 1;
        if (readable <= typeIndex) {
            return null;
        }
        final byte type = in.getByte(base + typeIndex);
        if (!validType(type)) {
            throw new BoltProtocolException(String.format("type: 0x%02x (expected: 0x00, 0x01 or 0x02)", type));
        }
        final int fixed = BoltMessage.fixedHeaderLength(protocol, type);
        if (readable < fixed) {
            return null;
        }
        final short cmd = in.getShort(base + typeIndex + 1);
        if (!validCommand(type, cmd)) {
            throw new BoltProtocolException(String.format(
                    "cmdcode: 0x%04x (expected: 0x0000 heartbeat or 0x%04x for type 0x%02x)", cmd,
                    type == BoltMessage.TYPE_RESPONSE ? BoltMessage.CMD_RESPONSE : BoltMessage.CMD_REQUEST, type));
        }
        final int lengths = base + fixed - 8;
        final int classLen = in.getUnsignedShort(lengths);
        final int headerLen = in.getUnsignedShort(lengths + 2);
        final int contentLen = in.getInt(lengths + 4);
        if (classLen > maxClassNameLength) {
            throw new BoltProtocolException("classLen: " + classLen + " (expected: <= " + maxClassNameLength + ")");
        }
        if (headerLen > maxHeaderLength) {
            throw new BoltProtocolException("headerLen: " + headerLen + " (expected: <= " + maxHeaderLength + ")");
        }
        if (contentLen < 0) {
            throw new BoltProtocolException("contentLen: " + contentLen + " (expected: >= 0)");
        }
        final byte protocolSwitch = v2 ? in.getByte(base + 11) : 0;
        final byte ver1 = v2 ? in.getByte(base + 1) : 0;
        final int crcLen = BoltMessage.crcPresent(protocol, ver1, protocolSwitch) ? 4 : 0;
        final long total = (long) fixed + classLen + headerLen + contentLen + crcLen;
        if (total > maxFrameLength) {
            throw new BoltProtocolException("frame length: " + total + " (expected: <= " + maxFrameLength + ")");
        }
        if (readable < total) {
            return null;
        }
        final ByteBuf frame = in.retainedSlice(base, (int) total);
        in.skipBytes((int) total);
        return BoltRequest.parseOwned(frame);
    }
}
