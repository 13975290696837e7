/**
 * The service registry SPI: {@link io.jmesh.discovery.registry.ServiceRegistry}, implemented once
 * per kind of registry in a sub-package ({@code registry.file} now; {@code registry.kube},
 * {@code registry.consul}, {@code registry.zookeeper}, {@code registry.nacos} later), and
 * {@link io.jmesh.discovery.registry.AggregateRegistry} that merges them in priority order.
 */
package io.jmesh.discovery.registry;
