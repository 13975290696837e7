/**
 * The RPC codec SPI of the {@code jmesh.filters.network.rpc_proxy} generic proxy (Envoy's
 * {@code generic_proxy/interface/codec.h}): {@link io.jmesh.proxy.protocol.rpc.RpcCodec} says what the proxy needs
 * of a protocol (framing, ids, heartbeats, routing fields, headers, local replies, status mapping). Bolt
 * ({@code protocol.bolt}) and Dubbo ({@code protocol.dubbo}) are built in; a third protocol is one package with an
 * {@code RpcCodec} registered in {@code META-INF/services/io.jmesh.proxy.protocol.rpc.RpcCodec}. Depends on
 * nothing else in the proxy.
 */
package io.jmesh.proxy.protocol.rpc;
