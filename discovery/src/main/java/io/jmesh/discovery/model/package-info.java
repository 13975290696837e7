/**
 * The immutable model that generation reads (Istio's {@code PushContext}): services and
 * endpoints merged from every registry, plus the Istio config snapshot, with the look-ups that
 * generation needs. A new {@link io.jmesh.discovery.model.MeshSnapshot} replaces the old one
 * whole; nothing here knows about gRPC streams or xDS.
 */
package io.jmesh.discovery.model;
