/**
 * The service registry SPI: {@link io.jmesh.discovery.registry.ServiceRegistry}, implemented once
 * per kind of registry in a sub-package ({@code registry.file}, {@code registry.zookeeper},
 * {@code registry.nacos}, {@code registry.kubernetes} now; {@code registry.consul} later; the RPC
 * mapping they share in {@code registry.rpc}), {@link io.jmesh.discovery.registry.AggregateRegistry}
 * that merges them in priority order, and {@link io.jmesh.discovery.registry.Registries} that
 * creates them from {@code --registry} URIs.
 */
package io.jmesh.discovery.registry;
