package io.jmesh.codec.dubbo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.jmesh.codec.testing.FrameCapture;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.ProtocolDetectionState;

/**
 * Frames captured from Dubbo 3.3.6 with Hessian2 (see {@link DubboRealPeerTest} and {@link FrameCapture}),
 * decoded and written back without the peers running.
 */
class DubboGoldenFrameTest {

    private static final String PREFIX = "dubbo-3.3.6-";
    private static final String GREETER = "io.jmesh.codec.dubbo.Greeter";
    private final EmbeddedChannel ch = new EmbeddedChannel(new DubboDecoder(), DubboEncoder.INSTANCE);

    @AfterEach
    void tearDown() {
        ch.finishAndReleaseAll();
    }

    private <T extends DubboMessage> T decode(byte[] frame) {
        assertEquals(ProtocolDetectionState.DETECTED, DubboDecoder.detect(Unpooled.wrappedBuffer(frame)));
        ch.writeInbound(Unpooled.wrappedBuffer(frame));
        return ch.readInbound();
    }

    private byte[] write(DubboMessage msg) {
        ch.writeOutbound(msg);
        final ByteBuf out = ch.readOutbound();
        final byte[] bytes = ByteBufUtil.getBytes(out);
        out.release();
        return bytes;
    }

    @Test
    void simpleRequest() {
        final byte[] frame = FrameCapture.load(PREFIX + "request-greet");
        final DubboRequest req = decode(frame);
        assertTrue(req.isTwoWay());
        assertEquals(DubboMessage.SERIALIZATION_HESSIAN2, req.serializationId());
        assertEquals("2.0.2", req.dubboVersion());
        assertEquals(GREETER, req.servicePath());
        assertEquals("1.0.0", req.serviceVersion());
        assertEquals("greet", req.methodName());
        assertEquals("Ljava/lang/String;", req.parameterTypesDesc());
        assertEquals(GREETER, req.attachment("interface"));
        assertEquals("1.0.0", req.attachment("version"));
        assertEquals("10000", req.attachment("timeout"));
        assertEquals("codec-consumer", req.attachment("remote.application"));
        assertArrayEquals(frame, write(req));
    }

    @Test
    void requestWithPojoMapListBinaryArguments() {
        final byte[] frame = FrameCapture.load(PREFIX + "request-describe");
        final DubboRequest req = decode(frame);
        assertEquals("describe", req.methodName());
        assertEquals(7, DubboRequest.countParameters(req.parameterTypesDesc()));
        // Reached only by skipping a class definition, a ref, typed and untyped maps and lists, a date,
        // a chunked byte[40000], a double and a boolean.
        assertEquals("after-args", req.attachment("x-mesh"));
        assertEquals(GREETER, req.interfaceName());
        final DubboRequest rewritten = req.withRequestId(42);
        final byte[] again = write(rewritten);
        final DubboRequest back = decode(again);
        assertEquals(42, back.requestId());
        assertEquals(req.attachments(), back.attachments());
        assertArrayEquals(frame, write(back.withRequestId(req.requestId())));
    }

    @Test
    void responseAndHeartbeats() {
        final byte[] resp = FrameCapture.load(PREFIX + "response-20");
        final DubboResponse r = decode(resp);
        assertTrue(r.isOk());
        assertNull(r.errorMessage());
        assertArrayEquals(resp, write(r));

        final byte[] hb = FrameCapture.load(PREFIX + "heartbeat");
        final DubboRequest h = decode(hb);
        assertTrue(h.isHeartbeat());
        assertTrue(h.isTwoWay());
        final byte[] hbResp = FrameCapture.load(PREFIX + "heartbeat-response");
        // Our locally built heartbeat reply is byte for byte what the real provider sent.
        assertArrayEquals(hbResp, write(DubboResponse.heartbeat(h, ch.alloc())));
        assertArrayEquals(hb, write(h));
    }
}
