package io.jmesh.proxy.network;

/**
 * A network filter's validated config, which sets up each new connection of its filter chain (Envoy's
 * {@code Network::FilterFactoryCb}). Immutable and shared by all connections of the chain; called on the
 * connection's event loop.
 */
@FunctionalInterface
public interface NetworkFilterInstaller {

    /** Adds this filter (or, for a terminal filter, its handlers) to a new connection. */
    void install(NetworkFilterManager manager);
}
