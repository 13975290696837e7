/**
 * {@code envoy.filters.http.health_check}: health check requests answered by the proxy (from the health of upstream
 * clusters) or passed to the application, with an optional cache of the application's answer.
 */
package io.jmesh.proxy.filter.healthcheck;
