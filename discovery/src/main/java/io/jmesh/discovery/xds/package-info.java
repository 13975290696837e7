/**
 * Generation: the immutable mesh model to one proxy's Envoy v3 resources (CDS, EDS, LDS, RDS)
 * with Istio's names and shapes, for three kinds of client told apart by their
 * {@link io.jmesh.discovery.xds.ProxyNode}: sidecars, gateways and proxyless gRPC clients.
 * Entry point: {@link io.jmesh.discovery.xds.XdsGenerator}. Nothing here touches gRPC streams.
 */
package io.jmesh.discovery.xds;
