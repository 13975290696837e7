package io.jmesh.codec.dubbo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;

import io.jmesh.codec.testing.DecoderFuzzing;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;

/**
 * Fuzzes {@link DubboDecoder} (any bytes → frames or a {@link DubboProtocolException}, the same in one read or
 * two, nothing leaked) and the renumber-and-re-encode round trip the proxy does
 * ({@link DubboMessage#withRequestId} + {@link DubboEncoder} → decodes to the same frame with the new id).
 * Seeds: {@code DubboDecoderFuzzTestInputs/}. Regression mode runs the seeds only; {@code JAZZER_FUZZ=1} fuzzes.
 */
class DubboDecoderFuzzTest {

    @FuzzTest
    void decode(byte[] input) {
        final DubboDecoderFuzzTestSupport support = new DubboDecoderFuzzTestSupport();
        final DecoderFuzzing.Result<DubboMessage> r = DecoderFuzzing.decode(
                () -> new DubboDecoder(4096), DubboProtocolException.class, DubboMessage.class, input,
                input.length / 2 + 1, DubboDecoderFuzzTest::describe);
        try {
            for (DubboMessage m : r.frames()) {
                support.roundTrip(m, m.requestId() + 1);
                support.roundTrip(m, m.requestId());
            }
        } finally {
            r.release();
        }
    }

    /** Round trips of one decoded frame. */
    static final class DubboDecoderFuzzTestSupport {
        void roundTrip(DubboMessage m, long newId) {
            final DubboMessage renumbered = m.withRequestId(newId);
            final EmbeddedChannel out = new EmbeddedChannel(DubboEncoder.INSTANCE);
            final EmbeddedChannel in = new EmbeddedChannel(new DubboDecoder(4096));
            try {
                out.writeOutbound(renumbered.retain());
                for (ByteBuf b; (b = out.readOutbound()) != null;) {
                    in.writeInbound(b);
                }
                final DubboMessage again = in.readInbound();
                try {
                    assertEquals(describe(renumbered), describe(again), "re-encoded frame decodes differently");
                    assertEquals((Object) null, in.readInbound(), "one frame re-encoded as more");
                } finally {
                    again.release();
                }
            } finally {
                out.finishAndReleaseAll();
                in.finishAndReleaseAll();
            }
        }
    }

    static String describe(DubboMessage m) {
        final StringBuilder sb = new StringBuilder()
                .append(m.getClass().getSimpleName())
                .append(" flag=").append(m.flag()).append(" serialization=").append(m.serializationId())
                .append(" event=").append(m.isEvent()).append(" heartbeat=").append(m.isHeartbeat())
                .append(" id=").append(m.requestId()).append(" bodyLength=").append(m.bodyLength());
        if (m instanceof DubboRequest q) {
            sb.append(" twoWay=").append(q.isTwoWay()).append(" dubbo=").append(q.dubboVersion())
              .append(" path=").append(q.servicePath()).append(" version=").append(q.serviceVersion())
              .append(" method=").append(q.methodName()).append(" desc=").append(q.parameterTypesDesc())
              .append(" attachments=").append(q.attachments()).append(" interface=").append(q.interfaceName())
              .append(" group=").append(q.group());
        } else if (m instanceof DubboResponse p) {
            sb.append(" status=").append(p.status()).append(" ok=").append(p.isOk())
              .append(" error=").append(p.errorMessage());
        }
        final ByteBuf body = m.body();
        assertEquals(m.bodyLength(), body.readableBytes(), "bodyLength vs. body()");
        return sb.append(" body=").append(ByteBufUtil.hexDump(body)).toString();
    }

    static {
        UnpooledByteBufAllocator.DEFAULT.buffer(1).release();
    }
}
