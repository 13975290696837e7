/**
 * The proxy's xDS client: {@link io.jmesh.proxy.xds.AdsClient} keeps an ADS stream to the control plane,
 * {@link io.jmesh.proxy.xds.DynamicConfigManager} validates each response, builds the new runtime config off
 * the event loops and swaps it in (clusters warmed before the listeners that use them), then the client ACKs
 * or NACKs. {@link io.jmesh.proxy.xds.ListenerBinding} says where LDS listeners bind without iptables.
 */
package io.jmesh.proxy.xds;
