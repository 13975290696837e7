package io.jmesh.codec.dubbo;

import java.util.concurrent.atomic.LongAdder;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.ProtocolDetectionState;
import io.jmesh.codec.internal.FailClosedFrameDecoder;

/**
 * Decodes Dubbo frames into {@link DubboRequest}s and {@link DubboResponse}s (layout in the
 * {@linkplain io.jmesh.codec.dubbo package documentation}).
 *
 * <p>A bad magic, a negative body length, a frame longer than {@code maxFrameLength} (checked from the
 * header, before the body is buffered) and a Hessian2 request body whose routing fields or attachments
 * cannot be read throw {@link DubboProtocolException}. After the first error the decoder discards all
 * input; the caller closes the connection (a real Dubbo provider keeps it open; a proxy should not).
 * Every error is logged and counted in {@link #protocolErrors()}. Skipping argument values is bounded
 * by the body and by {@link io.jmesh.codec.internal.Hessian2Reader#MAX_DEPTH} levels of nesting. An
 * incomplete frame simply waits for more bytes.
 *
 * <p>One instance per channel; runs on the channel's event loop.
 */
public final class DubboDecoder extends FailClosedFrameDecoder {

    private static final Logger logger = LoggerFactory.getLogger(DubboDecoder.class);

    /** Default largest frame, header included: 8 MiB (Dubbo's own default {@code payload}). */
    public static final int DEFAULT_MAX_FRAME_LENGTH = 8 * 1024 * 1024;

    private static final LongAdder protocolErrors = new LongAdder();

    private final int maxFrameLength;

    /** A decoder with {@link #DEFAULT_MAX_FRAME_LENGTH}. */
    public DubboDecoder() {
        this(DEFAULT_MAX_FRAME_LENGTH);
    }

    /**
     * A decoder accepting frames of up to {@code maxFrameLength} bytes, header included.
     *
     * @throws IllegalArgumentException if {@code maxFrameLength < 16}
     */
    public DubboDecoder(int maxFrameLength) {
        super(logger, protocolErrors, "Dubbo");
        if (maxFrameLength < DubboMessage.HEADER_LENGTH) {
            throw new IllegalArgumentException("maxFrameLength: " + maxFrameLength + " (expected: >= 16)");
        }
        this.maxFrameLength = maxFrameLength;
    }

    /** Protocol errors seen by all Dubbo decoders of this class loader since start. */
    public static long protocolErrors() {
        return protocolErrors.sum();
    }

    /** Whether the readable bytes of {@code in} start with the magic {@code 0xdabb}. Does not move the reader index. */
    public static ProtocolDetectionState detect(ByteBuf in) {
        final int readable = in.readableBytes();
        if (readable == 0) {
            return ProtocolDetectionState.NEEDS_MORE_DATA;
        }
        if (in.getUnsignedByte(in.readerIndex()) != 0xda) {
            return ProtocolDetectionState.INVALID;
        }
        if (readable == 1) {
            return ProtocolDetectionState.NEEDS_MORE_DATA;
        }
        return in.getUnsignedByte(in.readerIndex() + 1) == 0xbb ? ProtocolDetectionState.DETECTED
                                                               : ProtocolDetectionState.INVALID;
    }

    @Override
    protected boolean isProtocolError(io.netty.handler.codec.DecoderException e) {
        return e instanceof DubboProtocolException;
    }

    @Override
    protected DubboMessage decodeFrame(ByteBuf in) {
        final int base = in.readerIndex();
        final int readable = in.readableBytes();
        final int magicBytes = Math.min(readable, 2);
        for (int i = 0; i < magicBytes; i++) {
            final int expected = i == 0 ? 0xda : 0xbb;
            if (in.getUnsignedByte(base + i) != expected) {
                throw new DubboProtocolException(String.format("magic: 0x%s (expected: 0xdabb)",
                        readable >= 2 ? String.format("%04x", in.getUnsignedShort(base))
                                      : String.format("%02x", in.getUnsignedByte(base))));
            }
        }
        if (readable < DubboMessage.HEADER_LENGTH) {
            return null;
        }
        final int bodyLength = in.getInt(base + 12);
        if (bodyLength < 0) {
            throw new DubboProtocolException("body length: " + bodyLength + " (expected: >= 0)");
        }
        final long total = (long) DubboMessage.HEADER_LENGTH + bodyLength;
        if (total > maxFrameLength) {
            throw new DubboProtocolException("frame length: " + total + " (expected: <= " + maxFrameLength + ")");
        }
        if (readable < total) {
            return null;
        }
        final ByteBuf frame = in.retainedSlice(base, (int) total);
        in.skipBytes((int) total);
        try {
            if ((frame.getByte(frame.readerIndex() + 2) & DubboMessage.FLAG_REQUEST) != 0) {
                return new DubboRequest(frame);
            }
            return new DubboResponse(frame);
        } catch (RuntimeException e) {
            frame.release();
            throw e;
        }
    }
}
