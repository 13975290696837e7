/**
 * Network filters (Envoy's {@code envoy/network/filter.h}): each filter chain of a listener holds a list of them,
 * configured in {@code filter_chains[].filters}; the last is terminal (the HTTP connection manager, tcp_proxy or
 * rpc_proxy) and the ones before it ({@link io.jmesh.proxy.network.ReadFilter},
 * {@link io.jmesh.proxy.network.WriteFilter}) see the connection's bytes on their way in and out and may stop
 * them ({@link io.jmesh.proxy.network.NetworkFilterChain}). Factories are found in the
 * {@link io.jmesh.proxy.extension.ExtensionRegistry} by name and type URL.
 */
package io.jmesh.proxy.network;
