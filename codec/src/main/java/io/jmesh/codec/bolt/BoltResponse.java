package io.jmesh.codec.bolt;

import java.util.Map;

import io.jmesh.codec.internal.Hessian2Writer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * A Bolt response or heartbeat ack, with its {@link #status()} (see {@link BoltResponseStatus}), and
 * factories for the responses a proxy answers locally.
 *
 * <p>Local errors come in two forms, as a SOFARPC client surfaces them differently:
 * <ul>
 *   <li>{@link #error(BoltRequest, short, ByteBufAllocator)}: a bare status (no class, header or
 *       content). sofa-bolt's {@code RpcResponseResolver} maps it to its exception for that status
 *       ({@code InvokeServerBusyException}, {@code InvokeTimeoutException}, {@code InvokeServerException},
 *       ...) with its own fixed message; no text of ours reaches the caller.</li>
 *   <li>{@link #sofaError(BoltRequest, String, ByteBufAllocator)}: status {@code SUCCESS} with a
 *       Hessian2 {@code SofaResponse} whose {@code isError} is true and {@code errorMsg} is our message;
 *       SOFARPC throws a {@code SofaRpcException} carrying that message to the caller.</li>
 * </ul>
 */
public final class BoltResponse extends BoltMessage {

    /** Class name of a SOFARPC response's content. */
    public static final String SOFA_RESPONSE_CLASS = "com.alipay.sofa.rpc.core.response.SofaResponse";

    /** Longest error message {@link #sofaError} sends, in UTF-16 units (one Hessian string chunk). */
    public static final int MAX_MESSAGE = 0x8000;

    private final short status;

    BoltResponse(Parsed p) {
        super(p);
        status = (short) p.timeoutOrStatus;
    }

    private BoltResponse(BoltResponse m, int requestId) {
        super(m, requestId);
        status = m.status;
    }

    /** The {@code respStatus}; {@link BoltResponseStatus#SUCCESS} when the call succeeded. */
    public short status() {
        return status;
    }

    @Override
    public BoltResponse withRequestId(int requestId) {
        return new BoltResponse(this, requestId);
    }

    /** Builds a response frame; the content is copied. */
    public static BoltResponse of(ByteBufAllocator alloc, byte protocol, int requestId, short status,
                                  byte protocolSwitch, String className, Map<String, String> headers,
                                  ByteBuf content) {
        final ByteBuf frame = writeFrame(alloc, protocol, protocol == PROTOCOL_V2 ? (byte) 1 : 0, TYPE_RESPONSE,
                                         CMD_RESPONSE, (byte) 1, requestId, CODEC_HESSIAN2, protocolSwitch, status,
                                         className, headers, content);
        return (BoltResponse) BoltRequest.parseOwned(frame);
    }

    /** The ack sofa-bolt sends for a heartbeat: same protocol, versions, codec and switch; status SUCCESS. */
    public static BoltResponse heartbeatAck(BoltRequest heartbeat, ByteBufAllocator alloc) {
        final ByteBuf frame = writeFrame(alloc, heartbeat.protocol, heartbeat.ver1, TYPE_RESPONSE, CMD_HEARTBEAT,
                                         heartbeat.ver2, heartbeat.requestId, heartbeat.codec,
                                         heartbeat.protocolSwitch, BoltResponseStatus.SUCCESS, null, null, null);
        return (BoltResponse) BoltRequest.parseOwned(frame);
    }

    /**
     * A response with the given non-success status and nothing else, answering {@code request} (its
     * request id, protocol, versions, codec and switch).
     */
    public static BoltResponse error(BoltRequest request, short status, ByteBufAllocator alloc) {
        final ByteBuf frame = writeFrame(alloc, request.protocol, request.ver1, TYPE_RESPONSE, CMD_RESPONSE,
                                         request.ver2, request.requestId, request.codec, request.protocolSwitch,
                                         status, null, null, null);
        return (BoltResponse) BoltRequest.parseOwned(frame);
    }

    /**
     * A SOFARPC error response carrying {@code message} to the caller: status SUCCESS, class
     * {@link #SOFA_RESPONSE_CLASS}, content a {@code SofaResponse{isError=true, errorMsg}} in the Hessian 2
     * draft encoding that SOFARPC's sofa-hessian reads; a message longer than {@link #MAX_MESSAGE} is cut.
     */
    public static BoltResponse sofaError(BoltRequest request, String message, ByteBufAllocator alloc) {
        final ByteBuf content = alloc.buffer();
        try {
            // SOFARPC's sofa-hessian 3.x reads the Hessian 2 draft: 'O' int(typeLength) type-chars
            // int(fieldCount) string* defines a class, 'o' int(ref) starts an instance of it.
            content.writeByte('O');
            Hessian2Writer.writeInt(content, SOFA_RESPONSE_CLASS.length());
            content.writeCharSequence(SOFA_RESPONSE_CLASS, java.nio.charset.StandardCharsets.US_ASCII);
            Hessian2Writer.writeInt(content, 2);
            Hessian2Writer.writeString(content, "isError");
            Hessian2Writer.writeString(content, "errorMsg");
            content.writeByte('o');
            Hessian2Writer.writeInt(content, 0);
            Hessian2Writer.writeBoolean(content, true);
            Hessian2Writer.writeString(content, message.length() > MAX_MESSAGE ? message.substring(0, MAX_MESSAGE)
                                                                               : message);
            final ByteBuf frame = writeFrame(alloc, request.protocol, request.ver1, TYPE_RESPONSE, CMD_RESPONSE,
                                             request.ver2, request.requestId, request.codec,
                                             request.protocolSwitch, BoltResponseStatus.SUCCESS,
                                             SOFA_RESPONSE_CLASS, null, content);
            return (BoltResponse) BoltRequest.parseOwned(frame);
        } finally {
            content.release();
        }
    }
}
