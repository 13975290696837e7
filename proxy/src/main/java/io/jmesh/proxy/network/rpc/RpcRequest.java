package io.jmesh.proxy.network.rpc;

import io.jmesh.proxy.protocol.rpc.RpcCodec;
import io.jmesh.proxy.stream.RequestAttributes;

/**
 * One RPC call's request as RPC filters see it: the protocol-neutral {@link RequestAttributes} (protocol
 * {@code bolt}/{@code dubbo}, host the interface, method, path {@code /<interface>/<method>}, headers the Bolt header
 * map / Dubbo attachments), so that a policy engine written for HTTP reads it unchanged, plus what is RPC-specific.
 * Valid on the call's event loop while the call is open.
 */
public interface RpcRequest extends RequestAttributes {

    /** The service as the request names it (Bolt {@code interface:version}, Dubbo the path), or null. */
    String service();

    /** Whether the caller expects no response. */
    boolean isOneway();

    /** The request id the caller gave the call. */
    long requestId();

    /** The protocol's codec. */
    RpcCodec codec();

    /**
     * The decoded message, for protocol-specific filters. Read-only: its reference count belongs to the call; a
     * filter that keeps it past the call retains it.
     */
    Object message();

    /**
     * Adds a header (Bolt header map entry, Dubbo attachment) that the provider will see, replacing one of the same
     * name; {@link #header(String)} sees it at once. Written into the frame once, when the call is sent upstream.
     * Routing has already been decided: call {@link RpcFilterCallbacks#clearRouteCache()} to route on it.
     */
    void setHeader(String name, String value);

    /**
     * Removes a header (Bolt header map entry, Dubbo attachment) so that the provider does not see it, whether the
     * caller sent it or a filter added it; {@link #header(String)} returns null for it at once. Taken out of the frame
     * once, when the call is sent upstream. A later {@link #setHeader} of the same name adds it again.
     */
    void removeHeader(String name);
}
