package io.jmesh.proxy.network.rpc;

import io.jmesh.proxy.telemetry.tracing.HttpTracer;
import io.jmesh.proxy.telemetry.tracing.RpcTracing;
import io.jmesh.proxy.telemetry.tracing.Span;
import io.jmesh.proxy.telemetry.tracing.TraceCarrier;

/**
 * The span of one RPC call, run first in the chain when the rpc_proxy has {@code tracing} (Envoy generic proxy's
 * {@code tracing}): continues the caller's trace from B3 or W3C entries of the Bolt header map / Dubbo attachments,
 * else from SOFARPC's {@code rpc_trace_context} ({@link RpcTracing}), writes the span's context back into them
 * for the provider, and ends the span when the call ends. Runs on the call's event loop.
 */
final class RpcTracingFilter implements RpcFilter {

    private final HttpTracer tracer;
    private Span span;
    private RpcFilterCallbacks callbacks;
    private String service;
    private String method;
    private Integer status;
    private boolean success;
    private boolean oneway;

    RpcTracingFilter(HttpTracer tracer) {
        this.tracer = tracer;
    }

    @Override
    public Status onRequest(RpcRequest request, RpcFilterCallbacks callbacks) {
        this.callbacks = callbacks;
        this.service = request.service();
        this.method = request.method();
        this.oneway = request.isOneway();
        TraceCarrier carrier = new TraceCarrier() {
            @Override
            public String get(CharSequence name) {
                return request.header(name.toString());
            }

            @Override
            public void set(CharSequence name, String value) {
                request.setHeader(name.toString(), value);
            }

            @Override
            public void remove(CharSequence name) {
                // a caller's single b3 entry would otherwise beat the x-b3-* entries written for the provider
                request.removeHeader(name.toString());
            }
        };
        String sofaTraceId = request.header(RpcTracing.SOFA_TRACE_ID);
        String sofaRpcId = request.header(RpcTracing.SOFA_RPC_ID);
        // the SOFA ids are hashed only for a call whose carrier holds no B3 or W3C context
        span = tracer.startRpcSpan(carrier, sofaTraceId == null ? null : () -> RpcTracing.fromSofa(sofaTraceId,
                sofaRpcId), callbacks.streamInfo(), request.host());
        if (span != null && sofaTraceId != null) {
            span.tag("sofaTraceId", sofaTraceId).tag("sofaRpcId", sofaRpcId);
        }
        return Status.CONTINUE;
    }

    @Override
    public Status onResponse(RpcResponse response, RpcFilterCallbacks callbacks) {
        status = response.status();
        success = response.isSuccess();
        return Status.CONTINUE;
    }

    @Override
    public void onDestroy() {
        if (span != null) {
            Span s = span;
            span = null;
            tracer.finishRpcSpan(s, callbacks.streamInfo(), service, method, status, success || oneway && status == null);
        }
    }
}
