/**
 * The Nacos registry: Dubbo's providers registered in Nacos, read by polling Nacos's open HTTP API
 * v1; see {@link io.jmesh.discovery.registry.nacos.NacosServiceRegistry}.
 */
package io.jmesh.discovery.registry.nacos;
