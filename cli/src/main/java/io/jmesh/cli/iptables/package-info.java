/**
 * Transparent traffic capture: Istio's iptables rules ({@code istio-iptables}), built from its flags as
 * {@code iptables-restore} input ({@link io.jmesh.cli.iptables.CaptureRules}) and applied by
 * {@link io.jmesh.cli.iptables.IptablesApplier} through a {@link io.jmesh.cli.iptables.CommandRunner}.
 */
package io.jmesh.cli.iptables;
