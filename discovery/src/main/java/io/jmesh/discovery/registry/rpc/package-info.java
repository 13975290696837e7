/**
 * How RPC providers found in Dubbo's and SOFARPC's registries become mesh services and endpoints,
 * shared by {@code registry.zookeeper} and {@code registry.nacos}: {@link
 * io.jmesh.discovery.registry.rpc.ProviderUrl} parses a provider URL, {@link
 * io.jmesh.discovery.registry.rpc.RpcServiceMapper} maps providers to the model.
 */
package io.jmesh.discovery.registry.rpc;
