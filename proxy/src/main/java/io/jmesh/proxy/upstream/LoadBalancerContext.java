package io.jmesh.proxy.upstream;

import java.net.InetSocketAddress;
import java.util.OptionalLong;

/**
 * What a load balancer may know about the request it picks a host for (Envoy's
 * {@code Upstream::LoadBalancerContext}). Implementations are called on an event loop and must not block.
 */
public interface LoadBalancerContext {

    /** A context with no hash and no host to avoid: every pick is a plain (random or round-robin) pick. */
    LoadBalancerContext NONE = OptionalLong::empty;

    /**
     * The request's hash for {@code RING_HASH} and {@code MAGLEV} (computed by the router from the route's
     * {@code hash_policy}); empty means "no hash", and hash-based balancers then pick a random host.
     */
    OptionalLong hashKey();

    /**
     * For retries: returns {@code true} to ask the load balancer to try another host than {@code host}
     * (Envoy's {@code envoy.retry_host_predicates.previous_hosts}). The balancer honours it on a best-effort
     * basis: after a bounded number of attempts it returns the last host it picked.
     */
    default boolean shouldSelectAnotherHost(Host host) {
        return false;
    }

    /**
     * The address the downstream client dialled (its connection's original destination, before an iptables
     * {@code REDIRECT}, else its local address), which an {@code ORIGINAL_DST} cluster connects to; null when there
     * is no downstream connection.
     */
    default InetSocketAddress downstreamDestination() {
        return null;
    }

    /**
     * A context with no hash and no host to avoid, for a connection to {@code destination}: what tcp_proxy picks with,
     * so that an {@code ORIGINAL_DST} cluster connects to the downstream connection's original destination.
     */
    static LoadBalancerContext ofDestination(InetSocketAddress destination) {
        return new LoadBalancerContext() {
            @Override
            public OptionalLong hashKey() {
                return OptionalLong.empty();
            }

            @Override
            public InetSocketAddress downstreamDestination() {
                return destination;
            }
        };
    }
}
