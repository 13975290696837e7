/**
 * The xDS server side: ADS streams (state of the world and delta), ACK/NACK and per-proxy status,
 * the debounce, the push queue and metrics. It asks {@code xds} for resources and never computes
 * config itself; {@code xds} and {@code model} never see a stream.
 *
 * <p><b>Why our own stream handling and not java-control-plane's server</b>
 * ({@code io.envoyproxy.controlplane:server} 1.0.49, which does run under our gRPC 1.85.1): its
 * {@code V3DiscoveryServer} answers from a {@code SnapshotCache} of complete, pre-computed
 * snapshots keyed by a node group. Per-proxy generation (a sidecar's config depends on its
 * namespace, labels, IP and Sidecar resource) would mean one group per proxy and computing every
 * proxy's full snapshot on each change, connected or not, with no bound on concurrent work; and
 * its callbacks expose neither per-type sent/ACKed/NACKed versions for {@code /debug/syncz} nor
 * the resources a delta client already holds. {@link io.jmesh.discovery.server.AdsService} instead
 * keeps one immutable model snapshot, generates a connected proxy's resources when it is pushed
 * (by a bounded {@link io.jmesh.discovery.server.PushQueue}) or when it subscribes, and sends
 * only what changed. The wire types are still the {@code io.envoyproxy.controlplane:api} protos.
 */
package io.jmesh.discovery.server;
