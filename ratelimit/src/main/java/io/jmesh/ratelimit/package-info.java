/**
 * {@code jmesh ratelimit}: a gRPC {@code envoy.service.ratelimit.v3.RateLimitService} that reads envoyproxy/ratelimit's
 * YAML config unchanged and counts fixed windows in memory (one machine) or in Redis (shared by replicas), keyed as
 * envoyproxy/ratelimit keys them. See docs/telemetry-and-limits.md, "Rate limits".
 */
package io.jmesh.ratelimit;
