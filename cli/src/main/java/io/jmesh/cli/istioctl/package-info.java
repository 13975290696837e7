/**
 * What {@code istioctl} does, as {@code jmesh} verbs with istioctl's names, flags and output shapes:
 * {@code proxy-status} and {@code proxy-config}, against a running {@code jmesh discovery} (its monitoring
 * address) and a proxy's admin address.
 */
package io.jmesh.cli.istioctl;
