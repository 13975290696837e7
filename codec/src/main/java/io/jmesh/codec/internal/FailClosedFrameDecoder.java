package io.jmesh.codec.internal;

import java.util.List;
import java.util.concurrent.atomic.LongAdder;

import org.slf4j.Logger;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.DecoderException;

/**
 * The decode loop shared by the RPC codecs: one frame per call to {@link #decodeFrame}, and on the first
 * protocol error the decoder logs the reason, counts it, discards everything after it and rethrows, so
 * the caller closes the connection. Nothing is decoded after a failure.
 */
public abstract class FailClosedFrameDecoder extends ByteToMessageDecoder {

    private final Logger logger;
    private final LongAdder errors;
    private final String protocolName;
    private boolean failed;

    protected FailClosedFrameDecoder(Logger logger, LongAdder errors, String protocolName) {
        this.logger = logger;
        this.errors = errors;
        this.protocolName = protocolName;
    }

    /** Decodes one complete frame from the reader index, or returns null when more bytes are needed. */
    protected abstract Object decodeFrame(ByteBuf in);

    /** Whether {@code e} is this protocol's own error (others propagate without closing bookkeeping). */
    protected abstract boolean isProtocolError(DecoderException e);

    @Override
    protected final void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        try {
            Object msg = decodeFrame(in);
            if (msg != null) {
                out.add(msg);
            }
        } catch (DecoderException e) {
            if (!isProtocolError(e)) {
                throw e;
            }
            failed = true;
            in.skipBytes(in.readableBytes());
            errors.increment();
            logger.warn("{} closing on bad {} frame: {}", ctx.channel(), protocolName, e.getMessage());
            throw e;
        }
    }
}
