/**
 * Istio's custom resources read from the Kubernetes API server
 * ({@link io.jmesh.discovery.config.kubernetes.KubernetesConfigStore}), validated as files are.
 */
package io.jmesh.discovery.config.kubernetes;
