package io.jmesh.proxy.network;

/** A network filter on both sides (Envoy's {@code Network::Filter}). */
public interface NetworkFilter extends ReadFilter, WriteFilter {}
