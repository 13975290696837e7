/**
 * Istio configuration as discovery reads it: multi-document YAML files of the
 * {@code networking.istio.io} kinds, parsed into typed records, validated as istiod validates them
 * and gathered into immutable {@link io.jmesh.discovery.config.ConfigSnapshot}s.
 *
 * <p>The typed model is our own set of records (one per Istio message, Istio's field names) rather
 * than fabric8's Istio model: fabric8's {@code istio-client} exists only up to 7.5.2, brings the
 * Kubernetes client stack, and splits each kind into two classes of the same name; records bound by
 * Jackson give the same typed access with unknown fields rejected, as {@code istioctl validate}
 * does. A Kubernetes source can deserialize the same records from a CRD's {@code spec}.
 */
package io.jmesh.discovery.config;
