/**
 * Upstream clusters: the {@link io.jmesh.proxy.upstream.ClusterManager}, endpoints and their host sets, DNS
 * discovery, priorities and the load balancers (round robin, least request, random, ring hash, Maglev).
 * Connection pools live in {@code io.jmesh.proxy.upstream.pool}.
 */
package io.jmesh.proxy.upstream;
