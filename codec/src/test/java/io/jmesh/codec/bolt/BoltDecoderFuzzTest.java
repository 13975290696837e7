package io.jmesh.codec.bolt;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.FuzzTest;

import io.jmesh.codec.testing.DecoderFuzzing;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;

/**
 * Fuzzes {@link BoltDecoder} (any bytes → frames or a {@link BoltProtocolException}, the same in one read or
 * two, nothing leaked) and the re-encode round trip the proxy does when it renumbers a request
 * ({@link BoltMessage#withRequestId} + {@link BoltEncoder} → decodes to the same frame with the new id).
 * Seeds: {@code BoltDecoderFuzzTestInputs/}. Regression mode runs the seeds only; {@code JAZZER_FUZZ=1} fuzzes.
 */
class BoltDecoderFuzzTest {

    @FuzzTest
    void decode(byte[] input) {
        // Small limits so that the fuzzer reaches them.
        final DecoderFuzzing.Result<BoltMessage> r = DecoderFuzzing.decode(
                () -> new BoltDecoder(4096, 512, 128), BoltProtocolException.class, BoltMessage.class, input,
                input.length / 2 + 1, BoltDecoderFuzzTest::describe);
        try {
            for (BoltMessage m : r.frames()) {
                roundTrip(m, m.requestId() + 1);
                roundTrip(m, m.requestId());
            }
        } finally {
            r.release();
        }
    }

    private static void roundTrip(BoltMessage m, int newId) {
        final BoltMessage renumbered = m.withRequestId(newId);
        final EmbeddedChannel out = new EmbeddedChannel(BoltEncoder.INSTANCE);
        final EmbeddedChannel in = new EmbeddedChannel(new BoltDecoder(4096, 512, 128));
        try {
            out.writeOutbound(renumbered.retain());
            for (ByteBuf b; (b = out.readOutbound()) != null;) {
                in.writeInbound(b);
            }
            final BoltMessage again = in.readInbound();
            try {
                assertEquals(describe(renumbered), describe(again),
                             "re-encoded frame decodes differently");
                assertEquals((Object) null, in.readInbound(), "one frame re-encoded as more");
            } finally {
                again.release();
            }
        } finally {
            out.finishAndReleaseAll();
            in.finishAndReleaseAll();
        }
    }

    static String describe(BoltMessage m) {
        final StringBuilder sb = new StringBuilder()
                .append(m.getClass().getSimpleName())
                .append(" proto=").append(m.protocol()).append(" ver1=").append(m.ver1())
                .append(" type=").append(m.type()).append(" cmd=").append(m.cmdCode())
                .append(" ver2=").append(m.ver2()).append(" id=").append(m.requestId())
                .append(" codec=").append(m.codec()).append(" switch=").append(m.protocolSwitch())
                .append(" crc=").append(m.hasCrc()).append(" class=").append(m.className())
                .append(" headers=").append(m.headers()).append(" frameLength=").append(m.frameLength());
        if (m instanceof BoltRequest q) {
            sb.append(" timeout=").append(q.timeout());
        } else if (m instanceof BoltResponse p) {
            sb.append(" status=").append(p.status());
        }
        final ByteBuf content = m.content();
        assertEquals(m.contentLength(), content.readableBytes(), "contentLength vs. content()");
        return sb.append(" content=").append(ByteBufUtil.hexDump(content)).toString();
    }

    static {
        // Touch the allocator so its static setup is not attributed to the first input.
        UnpooledByteBufAllocator.DEFAULT.buffer(1).release();
    }
}
