/**
 * The subset of CEL that Istio's Telemetry API and Envoy's CEL access-log filter use, evaluated over a request's
 * {@link io.jmesh.proxy.stream.StreamInfo} and {@link io.jmesh.proxy.stream.RequestAttributes}.
 */
package io.jmesh.proxy.telemetry.cel;
