/** Bolt (SOFARPC) for the rpc_proxy generic proxy: {@link io.jmesh.proxy.protocol.bolt.BoltRpcCodec}. */
package io.jmesh.proxy.protocol.bolt;
