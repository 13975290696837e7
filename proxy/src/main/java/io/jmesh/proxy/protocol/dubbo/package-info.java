/** Dubbo for the rpc_proxy generic proxy: {@link io.jmesh.proxy.protocol.dubbo.DubboRpcCodec}. */
package io.jmesh.proxy.protocol.dubbo;
