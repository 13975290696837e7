package io.jmesh.proxy.network.rpc;

import io.jmesh.proxy.protocol.rpc.RpcStatus;
import io.jmesh.proxy.router.RouteEntry;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.stream.StreamInfo;
import io.netty.channel.EventLoop;

/**
 * What an {@link RpcFilter} may do with its call (Envoy generic proxy's {@code DecoderFilterCallback} /
 * {@code EncoderFilterCallback}). Every method must be called on {@link #eventLoop()}.
 */
public interface RpcFilterCallbacks {

    /**
     * Answers the caller in the protocol's own error form ({@link io.jmesh.proxy.protocol.rpc.RpcCodec#errorReply})
     * and ends the call: nothing goes upstream. Only on the decode path; the filter then returns
     * {@link RpcFilter.Status#STOP_ITERATION}. {@code details} is the access log's {@code %RESPONSE_CODE_DETAILS%}.
     * A oneway call gets no reply but ends all the same.
     *
     * @throws IllegalStateException on the encode path (the response is already chosen)
     */
    void sendLocalReply(RpcStatus status, String message, String details);

    /** Resumes the request after a filter returned {@link RpcFilter.Status#STOP_ITERATION}; a no-op otherwise. */
    void continueDecoding();

    /** Resumes the response after a filter returned {@link RpcFilter.Status#STOP_ITERATION}; a no-op otherwise. */
    void continueEncoding();

    /** The route matched for the call before the filters ran, or null when none matched. */
    RouteEntry route();

    /** Forgets the route: the router matches again (over headers added since) when the call goes upstream. */
    void clearRouteCache();

    /** The call's stream info: filled by the proxy as the call proceeds, read by the access log. */
    StreamInfo streamInfo();

    /** The downstream connection: addresses, TLS, peer identity. */
    ConnectionInfo connection();

    /** The event loop of the call, for filters that resume the chain after asynchronous work. */
    EventLoop eventLoop();
}
