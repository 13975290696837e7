package io.jmesh.proxy.telemetry.tracing;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * How an RPC call's own trace context maps onto a trace: SOFARPC's {@code rpc_trace_context} entries of the Bolt
 * header map ({@code rpc_trace_context.sofaTraceId}, {@code rpc_trace_context.sofaRpcId}, as SOFATracer writes them)
 * when the call carries no B3 or W3C context. A SOFA trace id (30 characters, not hex) becomes a 128-bit trace id
 * and the SOFA rpc id the caller's span id, both derived with SHA-256, so every hop of one SOFA trace lands in the
 * same trace; the span is tagged with both SOFA ids. Dubbo attachments carry {@code traceparent} or B3 entries and
 * need no mapping. Stateless.
 */
public final class RpcTracing {

    /** SOFARPC's trace id key in the Bolt header map. */
    public static final String SOFA_TRACE_ID = "rpc_trace_context.sofaTraceId";
    /** SOFARPC's rpc id key ({@code 0}, {@code 0.1}, {@code 0.1.1}: the position in the call tree). */
    public static final String SOFA_RPC_ID = "rpc_trace_context.sofaRpcId";

    private RpcTracing() {}

    /**
     * The caller's context from SOFA ids, with no sampling decision (the proxy's sampling decides); null without a
     * {@code sofaTraceId}.
     */
    public static TraceContext fromSofa(String sofaTraceId, String sofaRpcId) {
        if (sofaTraceId == null || sofaTraceId.isEmpty()) {
            return null;
        }
        MessageDigest sha256 = sha256();
        byte[] trace = sha256.digest(sofaTraceId.getBytes(StandardCharsets.UTF_8));
        byte[] span = sha256.digest((sofaTraceId + '/' + (sofaRpcId == null ? "0" : sofaRpcId))
                .getBytes(StandardCharsets.UTF_8));
        long hi = ByteBuffer.wrap(trace).getLong(0);
        long lo = ByteBuffer.wrap(trace).getLong(8);
        long id = ByteBuffer.wrap(span).getLong(0);
        if (lo == 0 || id == 0) {
            return null;
        }
        return new TraceContext(hi, lo, id, 0, null, false, null);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
