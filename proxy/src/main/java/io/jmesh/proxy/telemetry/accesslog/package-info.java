/**
 * Envoy access logs: {@link io.jmesh.proxy.stream.StreamInfo} filled per request,
 * {@link io.jmesh.proxy.telemetry.accesslog.AccessLogFormatter} for Envoy format strings, and
 * {@link io.jmesh.proxy.telemetry.accesslog.AccessLogs} building file/stdout/stderr loggers from xDS config.
 */
package io.jmesh.proxy.telemetry.accesslog;
