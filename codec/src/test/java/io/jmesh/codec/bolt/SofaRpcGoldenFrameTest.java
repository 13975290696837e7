package io.jmesh.codec.bolt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
 * Frames captured from SOFARPC 5.13.2 (Bolt v1, see {@link SofaRpcRealPeerTest}) and from sofa-bolt 1.6.10
 * (Bolt v2, see {@link SofaBoltV2RealPeerTest}) with {@link FrameCapture}, decoded and written back without
 * the peers running.
 */
class SofaRpcGoldenFrameTest {

    private static final String PREFIX = "sofarpc-5.13.2-bolt-v1-";
    private static final String SERVICE = "io.jmesh.codec.bolt.HelloService:1.0";
    private final EmbeddedChannel ch = new EmbeddedChannel(new BoltDecoder(), BoltEncoder.INSTANCE);

    @AfterEach
    void tearDown() {
        ch.finishAndReleaseAll();
    }

    private <T extends BoltMessage> T decode(byte[] frame) {
        assertEquals(ProtocolDetectionState.DETECTED, BoltDecoder.detect(Unpooled.wrappedBuffer(frame)));
        ch.writeInbound(Unpooled.wrappedBuffer(frame));
        return ch.readInbound();
    }

    private byte[] write(BoltMessage msg) {
        ch.writeOutbound(msg);
        final ByteBuf out = ch.readOutbound();
        final byte[] bytes = ByteBufUtil.getBytes(out);
        out.release();
        return bytes;
    }

    @Test
    void request() {
        final byte[] frame = FrameCapture.load(PREFIX + "request");
        final BoltRequest req = decode(frame);
        assertEquals(BoltMessage.PROTOCOL_V1, req.protocol());
        assertFalse(req.isOneway());
        assertFalse(req.isHeartbeat());
        assertEquals(5000, req.timeout());
        assertEquals(BoltMessage.CODEC_HESSIAN2, req.codec());
        assertEquals(BoltRequest.SOFA_REQUEST_CLASS, req.className());
        assertEquals(SERVICE, req.service());
        assertEquals(SERVICE, req.targetService());
        assertEquals("sayHello", req.methodName());
        assertEquals("bolt", req.header("protocol"));
        assertEquals("sync", req.header("type"));
        assertTrue(req.header("rpc_trace_context.sofaTraceId").length() > 10, req.headers().toString());
        // The content is SOFARPC's Hessian (2 draft) SofaRequest, untouched.
        assertEquals('O', req.content().getByte(0));
        final BoltRequest rewritten = req.withRequestId(123456);
        final byte[] again = write(rewritten);
        assertEquals(frame.length, again.length);
        final byte[] back = write(decode(again).withRequestId(req.requestId()));
        assertArrayEquals(frame, back);
    }

    @Test
    void onewayRequest() {
        final byte[] frame = FrameCapture.load(PREFIX + "oneway");
        final BoltRequest req = decode(frame);
        assertTrue(req.isOneway());
        assertEquals("sayHello", req.methodName());
        assertEquals("oneway", req.header("type"));
        assertArrayEquals(frame, write(req));
    }

    @Test
    void response() {
        final byte[] frame = FrameCapture.load(PREFIX + "response");
        final BoltResponse resp = decode(frame);
        assertEquals(BoltResponseStatus.SUCCESS, resp.status());
        assertEquals(BoltResponse.SOFA_RESPONSE_CLASS, resp.className());
        assertArrayEquals(frame, write(resp));
    }

    @Test
    void heartbeatAndAck() {
        final byte[] hb = FrameCapture.load(PREFIX + "heartbeat");
        final BoltRequest req = decode(hb);
        assertTrue(req.isHeartbeat());
        assertEquals(-1, req.timeout());
        final byte[] ack = FrameCapture.load(PREFIX + "heartbeat-ack");
        final BoltResponse resp = decode(ack);
        assertTrue(resp.isHeartbeat());
        assertEquals(BoltResponseStatus.SUCCESS, resp.status());
        // Our locally built ack is byte for byte what the real provider sent, for the same id.
        final BoltResponse local = BoltResponse.heartbeatAck(req.withRequestId(resp.requestId()), ch.alloc());
        assertArrayEquals(ack, write(local));
        assertArrayEquals(hb, write(req));
        resp.release();
    }

    @Test
    void sofaBoltV2WithAndWithoutCrc() {
        for (int ver1 = 1; ver1 <= 2; ver1++) {
            final byte[] reqFrame = FrameCapture.load("sofabolt-1.6.10-v2-request-ver1-" + ver1);
            final BoltRequest req = decode(reqFrame);
            assertEquals(BoltMessage.PROTOCOL_V2, req.protocol());
            assertEquals(ver1, req.ver1());
            assertEquals(BoltMessage.SWITCH_CRC, req.protocolSwitch()); // set in both; honoured only with ver1 = 2
            assertEquals(ver1 == 2, req.hasCrc());
            assertEquals("java.lang.String", req.className());
            assertEquals(5000, req.timeout());
            final byte[] rewritten = write(req.withRequestId(77));
            assertEquals(reqFrame.length, rewritten.length);
            final BoltRequest again = decode(rewritten); // a recomputed CRC checks out
            assertEquals(77, again.requestId());
            assertArrayEquals(reqFrame, write(again.withRequestId(req.requestId())));

            final byte[] respFrame = FrameCapture.load("sofabolt-1.6.10-v2-response-ver1-" + ver1);
            final BoltResponse resp = decode(respFrame);
            assertEquals(ver1 == 2, resp.hasCrc());
            assertEquals(BoltResponseStatus.SUCCESS, resp.status());
            assertArrayEquals(respFrame, write(resp));
        }
        // A flipped bit in a CRC-protected frame is caught.
        final byte[] corrupt = FrameCapture.load("sofabolt-1.6.10-v2-request-ver1-2");
        corrupt[corrupt.length - 5] ^= 0x40;
        final EmbeddedChannel fresh = new EmbeddedChannel(new BoltDecoder());
        org.junit.jupiter.api.Assertions.assertThrows(BoltProtocolException.class,
                () -> fresh.writeInbound(Unpooled.wrappedBuffer(corrupt)));
        fresh.finishAndReleaseAll();
    }
}
