package io.jmesh.proxy.network.rpc;

/** One RPC call's response as RPC filters see it on the encode path: an upstream response or a local reply. */
public interface RpcResponse {

    /** The protocol's status (Bolt {@code respStatus}, Dubbo status byte). */
    int status();

    /** Whether the protocol reports success. */
    boolean isSuccess();

    /** Whether the proxy (or a filter) produced it instead of the upstream. */
    boolean isLocalReply();

    /** The decoded message, read-only; its reference count belongs to the call. */
    Object message();
}
