/**
 * The control plane ({@code jmesh discovery}): entry point {@link io.jmesh.discovery.DiscoveryServer}.
 * Packages: {@code config} (Istio YAML), {@code registry} (service registries SPI and kinds),
 * {@code model} (immutable snapshot), {@code xds} (generation), {@code server} (ADS),
 * {@code debug} (monitoring port).
 */
package io.jmesh.discovery;
