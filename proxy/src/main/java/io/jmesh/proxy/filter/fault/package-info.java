/**
 * {@code envoy.filters.http.fault}: delay and abort injection, configured at the filter level and per route
 * ({@code typed_per_filter_config}, which is how Istio's VirtualService {@code fault} arrives).
 */
package io.jmesh.proxy.filter.fault;
