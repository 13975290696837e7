/**
 * {@code envoy.filters.http.cors}: CORS preflights answered locally and Access-Control-* headers on actual
 * responses, from a per-route {@code CorsPolicy} (Istio's VirtualService {@code corsPolicy}).
 */
package io.jmesh.proxy.filter.cors;
