package io.jmesh.proxy.protocol.rpc;

/**
 * Why the proxy (or an RPC filter) answers a call itself, in protocol-neutral terms (Envoy generic proxy's local
 * reply {@code Status}); each {@link RpcCodec} turns it into its protocol's own error form (see docs/rpc.md for the
 * table), so that the calling application sees its usual exception.
 */
public enum RpcStatus {
    /** No route, or the route's cluster is unknown. Bolt {@code NO_PROCESSOR}, Dubbo 60 {@code SERVICE_NOT_FOUND}. */
    NOT_FOUND,
    /**
     * The call was not sent: no healthy upstream, or the connection could not be opened. Statuses only a client
     * produces (Bolt {@code CLIENT_SEND_ERROR}, Dubbo 35 {@code CHANNEL_INACTIVE}), so that a sidecar receiving one
     * from another sidecar knows the call never reached an application and may retry it elsewhere.
     */
    NOT_SENT,
    /** The upstream connection closed with the call in flight. Bolt {@code CONNECTION_CLOSED}, Dubbo 80. */
    CONNECTION_CLOSED,
    /** No response within the timeout. Bolt {@code TIMEOUT}, Dubbo 31 {@code SERVER_TIMEOUT}. */
    TIMEOUT,
    /** Overload: a circuit breaker or a rate limit. Bolt {@code SERVER_THREADPOOL_BUSY}, Dubbo 100. */
    OVERLOADED,
    /** A policy (RBAC, a filter) refused the call. Bolt {@code SERVER_EXCEPTION}, Dubbo 40 {@code BAD_REQUEST}. */
    PERMISSION_DENIED,
    /** The call is malformed for a filter. Bolt {@code CODEC_EXCEPTION}, Dubbo 40 {@code BAD_REQUEST}. */
    INVALID_REQUEST,
    /** Any other failure inside the proxy. Bolt {@code SERVER_EXCEPTION}, Dubbo 80 {@code SERVER_ERROR}. */
    INTERNAL
}
