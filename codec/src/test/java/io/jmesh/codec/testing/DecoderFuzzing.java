package io.jmesh.codec.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.util.ReferenceCountUtil;

/**
 * Drives a frame decoder with fuzzer bytes the way a socket would: once in one read, once cut in two reads,
 * and checks what every decoder in this module promises: it either yields frames or throws its own protocol
 * exception (never another exception), both ways of reading yield the same frames, and every buffer it was
 * given or produced is released exactly once.
 */
public final class DecoderFuzzing {

    /** The frames decoded from one input and whether the decoder stopped on a protocol error. */
    public record Result<M>(List<M> frames, boolean protocolError, List<ByteBuf> inputs) {
        /** Releases the frames, then checks that nothing holds the input buffers any more. */
        public void release() {
            frames.forEach(ReferenceCountUtil::release);
            for (ByteBuf b : inputs) {
                assertEquals(0, b.refCnt(), "input buffer still referenced after the frames were released");
            }
        }
    }

    private DecoderFuzzing() {}

    /**
     * Decodes {@code input} with a fresh decoder from {@code decoder}, in one read and cut at {@code cut},
     * checks that both agree (same {@code describe} of each frame, same error outcome) and returns the
     * frames of the single read, which the caller releases. Any exception but {@code protocolError} escapes.
     */
    public static <M> Result<M> decode(Supplier<ChannelHandler> decoder, Class<? extends DecoderException> protocolError,
                                       Class<M> type, byte[] input, int cut,
                                       java.util.function.Function<M, String> describe) {
        final Result<M> whole = run(decoder.get(), protocolError, type, List.of(input));
        final int at = Math.floorMod(cut, input.length + 1);
        final byte[] a = java.util.Arrays.copyOfRange(input, 0, at);
        final byte[] b = java.util.Arrays.copyOfRange(input, at, input.length);
        final Result<M> split = run(decoder.get(), protocolError, type, List.of(a, b));
        try {
            assertEquals(whole.protocolError, split.protocolError, "protocol error in one read vs. two");
            assertEquals(describeAll(whole.frames, describe), describeAll(split.frames, describe),
                         "frames decoded in one read vs. two");
        } catch (AssertionError e) {
            whole.release();
            throw e;
        } finally {
            split.release();
        }
        return whole;
    }

    private static <M> List<String> describeAll(List<M> frames, java.util.function.Function<M, String> describe) {
        final List<String> out = new ArrayList<>();
        frames.forEach(f -> out.add(describe.apply(f)));
        return out;
    }

    private static <M> Result<M> run(ChannelHandler decoder, Class<? extends DecoderException> protocolError,
                                     Class<M> type, List<byte[]> reads) {
        final EmbeddedChannel ch = new EmbeddedChannel(decoder);
        final List<ByteBuf> given = new ArrayList<>();
        final List<M> frames = new ArrayList<>();
        boolean error = false;
        try {
            for (byte[] r : reads) {
                final ByteBuf buf = Unpooled.buffer(r.length).writeBytes(r); // never the shared EMPTY_BUFFER
                given.add(buf);
                try {
                    ch.writeInbound(buf);
                } catch (DecoderException e) {
                    if (!protocolError.isInstance(e)) {
                        throw e;
                    }
                    error = true;
                    break;
                }
                drain(ch, type, frames);
            }
            drain(ch, type, frames);
        } catch (RuntimeException | Error e) {
            frames.forEach(ReferenceCountUtil::release);
            ch.finishAndReleaseAll();
            throw e;
        }
        ch.finishAndReleaseAll();
        return new Result<>(frames, error, given);
    }

    private static <M> void drain(EmbeddedChannel ch, Class<M> type, List<M> frames) {
        for (Object o; (o = ch.readInbound()) != null;) {
            if (!type.isInstance(o)) {
                ReferenceCountUtil.release(o);
                throw new AssertionError("decoder produced " + o.getClass().getName());
            }
            frames.add(type.cast(o));
        }
    }
}
