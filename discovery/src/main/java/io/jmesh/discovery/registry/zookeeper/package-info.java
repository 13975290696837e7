/**
 * The ZooKeeper registry: Dubbo's ({@code /dubbo/<interface>/providers/<url>}) and SOFARPC's
 * ({@code /sofa-rpc/<interface>/providers/<url>}) provider nodes, watched with Curator, as mesh
 * services; see {@link io.jmesh.discovery.registry.zookeeper.ZookeeperServiceRegistry}.
 */
package io.jmesh.discovery.registry.zookeeper;
