package io.jmesh.proxy.extension;

import java.util.function.Supplier;

import io.jmesh.proxy.tls.SecretManager;

import io.jmesh.proxy.telemetry.Stats;
import io.jmesh.proxy.upstream.ClusterManager;
import io.netty.channel.EventLoopGroup;

/**
 * What an extension factory may use when it builds its config (Envoy's
 * {@code Server::Configuration::FactoryContext}): the cluster manager, the stats scope, the event loops (also its
 * timers), the server's lifecycle and the secret manager. Factories run off the event loop, once per config.
 */
public interface ExtensionContext {

    /** The cluster manager serving now (replaced on CDS updates: read it per connection or request). */
    Supplier<ClusterManager> clusterManager();

    /** The server's stats. */
    Stats stats();

    /**
     * The worker event loops: connections live there, and {@code schedule} on them is the timer. Null when the
     * extension is built without a server (config validation).
     */
    EventLoopGroup eventLoopGroup();

    /** The server's init, drain and shutdown hooks. */
    ServerLifecycle lifecycle();

    /**
     * The traffic direction of the listener the extension is built for ({@code Listener.traffic_direction});
     * Istio's stats filters infer their reporter from it. {@code UNSPECIFIED} outside a listener.
     */
    default io.envoyproxy.envoy.config.core.v3.TrafficDirection trafficDirection() {
        return io.envoyproxy.envoy.config.core.v3.TrafficDirection.UNSPECIFIED;
    }

    /** The secret manager (static, file and SDS secrets); {@link SecretManager#none()} when there is none. */
    default SecretManager secretManager() {
        return SecretManager.none();
    }

    /** A context of the given parts. */
    static ExtensionContext of(Supplier<ClusterManager> clusters, Stats stats, EventLoopGroup loops,
                               ServerLifecycle lifecycle) {
        return of(clusters, stats, loops, lifecycle, SecretManager.none());
    }

    /** A context of the given parts, with the server's secret manager. */
    static ExtensionContext of(Supplier<ClusterManager> clusters, Stats stats, EventLoopGroup loops,
                               ServerLifecycle lifecycle, SecretManager secrets) {
        return new ExtensionContext() {
            @Override
            public SecretManager secretManager() {
                return secrets;
            }

            @Override
            public Supplier<ClusterManager> clusterManager() {
                return clusters;
            }

            @Override
            public Stats stats() {
                return stats;
            }

            @Override
            public EventLoopGroup eventLoopGroup() {
                return loops;
            }

            @Override
            public ServerLifecycle lifecycle() {
                return lifecycle;
            }
        };
    }
}
