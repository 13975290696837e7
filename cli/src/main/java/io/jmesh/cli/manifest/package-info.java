/**
 * {@code jmesh manifest generate}: the Kubernetes manifests of jmesh (Istio's CRDs, discovery as istiod, its RBAC,
 * the webhooks, the ingress gateway), rendered from the Helm chart {@code deploy/helm/jmesh}, which the build
 * copies into the jar, with a small renderer of the Go-template constructs that chart uses ({@link
 * io.jmesh.cli.manifest.ChartTemplate}). One source: what the command prints is what {@code helm template} of the
 * same chart and values prints (less Helm's labels).
 */
package io.jmesh.cli.manifest;
