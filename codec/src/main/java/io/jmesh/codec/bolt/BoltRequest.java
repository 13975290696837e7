package io.jmesh.codec.bolt;

import java.util.Map;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * A Bolt request, oneway request or heartbeat. The routing fields come from the header map that
 * SOFARPC fills: {@link #service()}, {@link #targetService()}, {@link #methodName()},
 * {@link #targetApp()}.
 */
public final class BoltRequest extends BoltMessage {

    /** Class name of a SOFARPC request's content. */
    public static final String SOFA_REQUEST_CLASS = "com.alipay.sofa.rpc.core.request.SofaRequest";

    private final int timeout;

    BoltRequest(Parsed p) {
        super(p);
        timeout = p.timeoutOrStatus;
    }

    private BoltRequest(BoltRequest m, int requestId) {
        super(m, requestId);
        timeout = m.timeout;
    }

    /**
     * Builds a request frame; the content is copied. {@code protocolSwitch} is only written for v2
     * (bit 0: CRC32).
     */
    public static BoltRequest of(ByteBufAllocator alloc, byte protocol, boolean oneway, int requestId, int timeout,
                                 byte protocolSwitch, String className, Map<String, String> headers, ByteBuf content) {
        final ByteBuf frame = writeFrame(alloc, protocol, protocol == PROTOCOL_V2 ? (byte) 1 : 0,
                                         oneway ? TYPE_ONEWAY : TYPE_REQUEST, CMD_REQUEST, (byte) 1, requestId,
                                         CODEC_HESSIAN2, protocolSwitch, timeout, className, headers, content);
        return (BoltRequest) parseOwned(frame);
    }

    /** Builds a heartbeat request as sofa-bolt sends it (no class, header or content; timeout -1). */
    public static BoltRequest heartbeat(ByteBufAllocator alloc, byte protocol, int requestId) {
        final ByteBuf frame = writeFrame(alloc, protocol, protocol == PROTOCOL_V2 ? (byte) 1 : 0, TYPE_REQUEST,
                                         CMD_HEARTBEAT, (byte) 1, requestId, CODEC_HESSIAN2, (byte) 0, -1, null,
                                         null, null);
        return (BoltRequest) parseOwned(frame);
    }

    static BoltMessage parseOwned(ByteBuf frame) {
        try {
            return parse(frame);
        } catch (RuntimeException e) {
            frame.release();
            throw e;
        }
    }

    /** The timeout in milliseconds the client gave the call ({@code <= 0}: none). */
    public int timeout() {
        return timeout;
    }

    /** Whether the caller expects no response. */
    public boolean isOneway() {
        return type == TYPE_ONEWAY;
    }

    /** The {@code service} header: SOFARPC's {@code interface:version[:uniqueId]}, or {@code null}. */
    public String service() {
        return headers.get(HEADER_SERVICE);
    }

    /** The {@code sofa_head_target_service} header, or {@code null}. */
    public String targetService() {
        return headers.get(HEADER_TARGET_SERVICE);
    }

    /** The {@code sofa_head_method_name} header, or {@code null}. */
    public String methodName() {
        return headers.get(HEADER_METHOD_NAME);
    }

    /** The {@code sofa_head_target_app} header, or {@code null}. */
    public String targetApp() {
        return headers.get(HEADER_TARGET_APP);
    }

    @Override
    public BoltRequest withRequestId(int requestId) {
        return new BoltRequest(this, requestId);
    }
}
