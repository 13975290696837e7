/**
 * Distributed tracing in the proxy, as Envoy does it: the HTTP connection manager's {@code tracing} (sampling,
 * custom tags, provider), trace context propagation (B3 multi and single header, W3C {@code traceparent} /
 * {@code tracestate}), the trace decision carried in {@code x-request-id}, one span per proxy hop, and exporters to
 * Zipkin (v2 JSON over HTTP) and to OpenTelemetry (OTLP over gRPC) that batch off the event loop.
 *
 * <p>Unsampled requests allocate no span: only the propagation headers are written.
 */
package io.jmesh.proxy.telemetry.tracing;
