/**
 * The Consul registry: services and healthy instances from Consul's catalog, followed with blocking queries
 * ({@link io.jmesh.discovery.registry.consul.ConsulServiceRegistry}).
 */
package io.jmesh.discovery.registry.consul;
