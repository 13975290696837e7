/**
 * The xDS server side: ADS streams (state of the world and delta), ACK/NACK and per-proxy status,
 * the push queue and metrics. It asks {@code xds} for resources and never computes config itself.
 */
package io.jmesh.discovery.server;
