package io.jmesh.proxy.stream;

import java.util.function.BiConsumer;

/**
 * The one read-only view of a request that policy engines read, whatever the protocol (DESIGN: "policy engines
 * are written once"): RBAC, rate limits, stats and tracing take this, and thin HTTP, RPC and network filters
 * hand it to them. Implementations live with each protocol; they compute values lazily and cheaply.
 *
 * <p>Mapping per protocol:
 * <table>
 * <caption>What each attribute is</caption>
 * <tr><th>attribute</th><th>HTTP / gRPC</th><th>Bolt, Dubbo</th><th>TCP</th></tr>
 * <tr><td>{@link #protocol()}</td><td>{@code http}, {@code grpc}</td><td>{@code bolt}, {@code dubbo}</td>
 *     <td>{@code tcp}</td></tr>
 * <tr><td>{@link #host()}</td><td>{@code :authority}</td><td>the service (interface) name</td><td>null (SNI in
 *     the connection)</td></tr>
 * <tr><td>{@link #method()}</td><td>{@code :method}</td><td>the RPC method name</td><td>null</td></tr>
 * <tr><td>{@link #path()}</td><td>{@code :path}</td><td>{@code /service/method}</td><td>null</td></tr>
 * <tr><td>{@link #header(String)}</td><td>request headers (lower case, pseudo-headers included)</td>
 *     <td>the Bolt header map / Dubbo attachments</td><td>none</td></tr>
 * </table>
 * All methods are called on the request's event loop.
 */
public interface RequestAttributes {

    /** {@code http}, {@code grpc}, {@code bolt}, {@code dubbo} or {@code tcp}. */
    String protocol();

    /** The destination service as the request names it, or null. */
    String host();

    /** The method (HTTP method or RPC method name), or null. */
    String method();

    /** The path (HTTP {@code :path} with query; {@code /service/method} for RPC), or null. */
    String path();

    /** Every value of a header (or RPC header / attachment) joined with {@code ','}, or null when absent. */
    String header(String name);

    /** Calls {@code action} once per header value, in request order. */
    void forEachHeader(BiConsumer<String, String> action);

    /** The downstream connection: source address, destination port, peer identity (SPIFFE ID), SNI. */
    ConnectionInfo connection();
}
