/**
 * Sidecar injection, as Istio's {@code pkg/kube/inject}: {@link io.jmesh.discovery.inject.SidecarInjector} adds the
 * {@code istio-init} init container ({@code jmesh iptables}) and the {@code istio-proxy} container ({@code jmesh
 * proxy}) to a pod template; {@link io.jmesh.discovery.inject.KubeInject} does it to YAML files ({@code jmesh
 * kube-inject}); {@link io.jmesh.discovery.inject.AdmissionWebhook} serves the mutating ({@code /inject}) and
 * validating ({@code /validate}) admission webhooks of {@code jmesh discovery}.
 */
package io.jmesh.discovery.inject;
