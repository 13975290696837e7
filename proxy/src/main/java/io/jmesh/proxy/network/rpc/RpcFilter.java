package io.jmesh.proxy.network.rpc;

/**
 * An RPC filter instance for one call (Envoy generic proxy's {@code StreamFilter}, filter.h). Filters run on the
 * call's event loop: on the request (decode path) in configuration order, then the RPC router (the terminal step of
 * the chain) sends the call upstream; on the response (encode path) in reverse order, local replies included. Only
 * filters that saw the request see its response.
 *
 * <p>A filter returns {@link Status#CONTINUE}, or {@link Status#STOP_ITERATION} to pause the chain: it then resumes
 * it later with {@link RpcFilterCallbacks#continueDecoding()} / {@link RpcFilterCallbacks#continueEncoding()}, or
 * ends the call with {@link RpcFilterCallbacks#sendLocalReply} (decode path only), which answers the caller in the
 * protocol's own error form.
 */
public interface RpcFilter {

    /** What the chain does after a filter has seen the request or the response. */
    enum Status {
        /** Go on to the next filter (or the router, or the caller). */
        CONTINUE,
        /** Stop here: the filter has sent a local reply, or will resume the chain later. */
        STOP_ITERATION
    }

    /**
     * The request, before routing sends it upstream. The filter may read it as {@link RpcRequest} (the
     * protocol-neutral {@link io.jmesh.proxy.stream.RequestAttributes}) and add headers that reach the provider.
     */
    default Status onRequest(RpcRequest request, RpcFilterCallbacks callbacks) {
        return Status.CONTINUE;
    }

    /** The response (from upstream, or a local reply), before it is written to the caller. Read-only. */
    default Status onResponse(RpcResponse response, RpcFilterCallbacks callbacks) {
        return Status.CONTINUE;
    }

    /** The call has ended (answered, timed out, or its caller went away); release timers and the like. Called once. */
    default void onDestroy() {}
}
