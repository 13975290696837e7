package io.jmesh.codec.dubbo;

import io.jmesh.codec.internal.Hessian2FormatException;
import io.jmesh.codec.internal.Hessian2Reader;
import io.jmesh.codec.internal.Hessian2Writer;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * A Dubbo response or response event (heartbeat reply), with its {@link #status()} (see
 * {@link DubboStatus}), and factories for the responses a proxy answers locally.
 *
 * <p>A local error ({@link #error(DubboRequest, byte, String, ByteBufAllocator)}) is what a Dubbo
 * provider itself sends: a non-OK status and a Hessian2 string message; the Dubbo client surfaces the
 * message in its {@code RpcException} (a {@code TimeoutException} for the two timeout statuses).
 */
public final class DubboResponse extends DubboMessage {

    private final String errorMessage;

    DubboResponse(ByteBuf frame) {
        super(frame);
        String message = null;
        if (status != DubboStatus.OK && !isEvent() && serializationId() == SERIALIZATION_HESSIAN2
            && bodyLength() > 0) {
            try {
                final Object v = new Hessian2Reader(body()).readScalar();
                message = v instanceof String ? (String) v : null;
            } catch (Hessian2FormatException e) {
                // The message is informative only; the body is forwarded unchanged anyway.
            }
        }
        errorMessage = message;
    }

    private DubboResponse(DubboResponse m, long requestId) {
        super(m, requestId);
        errorMessage = m.errorMessage;
    }

    /** The status byte; {@link DubboStatus#OK} on success. */
    public byte status() {
        return status;
    }

    /** Whether the status is {@link DubboStatus#OK}. */
    public boolean isOk() {
        return status == DubboStatus.OK;
    }

    /** For a non-OK Hessian2 response, the error message it carries; otherwise {@code null}. */
    public String errorMessage() {
        return errorMessage;
    }

    @Override
    public DubboResponse withRequestId(long requestId) {
        return new DubboResponse(this, requestId);
    }

    /** The reply to a heartbeat: event, same serialization, status OK, body {@code N}. */
    public static DubboResponse heartbeat(DubboRequest heartbeat, ByteBufAllocator alloc) {
        final ByteBuf body = alloc.buffer(1).writeByte('N');
        try {
            return new DubboResponse(writeFrame(alloc, FLAG_EVENT | heartbeat.serializationId(), DubboStatus.OK,
                                                heartbeat.requestId(), body));
        } finally {
            body.release();
        }
    }

    /**
     * A successful response to {@code request} returning the string {@code value}, as Dubbo's {@code DubboCodec}
     * writes it with Hessian2: status OK, body {@code RESPONSE_VALUE} (Hessian int 1) then the value. For sample
     * providers and tests.
     */
    public static DubboResponse value(DubboRequest request, String value, ByteBufAllocator alloc) {
        final ByteBuf body = alloc.buffer();
        try {
            body.writeByte(0x91); // Hessian2 compact int 1: RESPONSE_VALUE
            Hessian2Writer.writeString(body, value);
            return new DubboResponse(writeFrame(alloc, SERIALIZATION_HESSIAN2, DubboStatus.OK, request.requestId(),
                                                body));
        } finally {
            body.release();
        }
    }

    /**
     * An error response to {@code request} with the given status and message, serialized with Hessian2
     * (id 2) whatever the request's serialization, as Hessian2 is the one every Dubbo client reads.
     *
     * @throws IllegalArgumentException if {@code status} is {@link DubboStatus#OK}
     */
    public static DubboResponse error(DubboRequest request, byte status, String message, ByteBufAllocator alloc) {
        if (status == DubboStatus.OK) {
            throw new IllegalArgumentException("status: 20 (expected: an error status)");
        }
        final ByteBuf body = alloc.buffer();
        try {
            Hessian2Writer.writeString(body, message);
            return new DubboResponse(writeFrame(alloc, SERIALIZATION_HESSIAN2, status, request.requestId(), body));
        } finally {
            body.release();
        }
    }

    @Override
    public String toString() {
        return "DubboResponse(id=" + requestId + ", status=" + status + ", body=" + bodyLength() + "B)";
    }
}
