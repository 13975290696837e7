/**
 * Rate limits, written once and installed as thin filters (docs/telemetry-and-limits.md, "Rate limits"): token
 * buckets for Envoy's local rate limits ({@code envoy.filters.http.local_ratelimit},
 * {@code envoy.filters.network.local_ratelimit}) and a client of Envoy's
 * {@code envoy.service.ratelimit.v3.RateLimitService} for global ones ({@code envoy.filters.http.ratelimit},
 * {@code envoy.filters.network.ratelimit}), plus jmesh's RPC filters for Bolt and Dubbo
 * ({@code jmesh.filters.rpc.local_ratelimit}, {@code jmesh.filters.rpc.ratelimit}).
 */
package io.jmesh.proxy.filter.ratelimit;
