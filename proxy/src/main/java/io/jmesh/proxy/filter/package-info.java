/**
 * The HTTP filter API (Envoy's {@code envoy/http/filter.h}): {@link io.jmesh.proxy.filter.StreamDecoderFilter},
 * {@link io.jmesh.proxy.filter.StreamEncoderFilter} and {@link io.jmesh.proxy.filter.HttpFilter} with their
 * callbacks and iteration statuses, run per stream by the connection manager's filter manager
 * ({@code io.jmesh.proxy.network.http.FilterManager}). One package per filter (factory + filter + config),
 * registered by Envoy filter name and type URL in {@link io.jmesh.proxy.filter.HttpFilterRegistry}; the router
 * ({@code envoy.filters.http.router}, package {@code router}) is the last filter of every chain. See
 * docs/proxy.md, "Writing an HTTP filter".
 */
package io.jmesh.proxy.filter;
