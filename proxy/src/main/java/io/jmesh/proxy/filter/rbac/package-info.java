/**
 * Envoy's RBAC, written once ({@link io.jmesh.proxy.filter.rbac.RbacEngine} over
 * {@link io.jmesh.proxy.stream.RequestAttributes}, {@link io.jmesh.proxy.stream.ConnectionInfo} and the dynamic
 * metadata of {@link io.jmesh.proxy.stream.StreamInfo}), installed as three thin filters: the HTTP filter
 * {@code envoy.filters.http.rbac}, the network filter {@code envoy.filters.network.rbac} and the RPC filter
 * {@code jmesh.filters.rpc.rbac} (Bolt, Dubbo).
 */
package io.jmesh.proxy.filter.rbac;
