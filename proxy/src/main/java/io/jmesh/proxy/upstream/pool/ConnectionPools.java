package io.jmesh.proxy.upstream.pool;

import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;

import io.jmesh.proxy.upstream.Host;
import io.jmesh.proxy.upstream.UpstreamCluster;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.FastThreadLocal;

/**
 * The pools of the current event loop, one per (cluster, host, protocol), created on first use.
 * Must be called on an event loop thread: the pools are confined to it, as Envoy's are to a worker.
 */
public final class ConnectionPools {

    private static final FastThreadLocal<Map<UpstreamCluster, Map<String, ConnectionPool>>> POOLS =
            new FastThreadLocal<>() {
                @Override
                protected Map<UpstreamCluster, Map<String, ConnectionPool>> initialValue() {
                    return new IdentityHashMap<>();
                }
            };

    private ConnectionPools() {}

    public static ConnectionPool get(EventLoop loop, UpstreamCluster cluster, Host host, boolean http2) {
        assert loop.inEventLoop();
        Map<String, ConnectionPool> byHost = POOLS.get().computeIfAbsent(cluster, c -> new HashMap<>());
        String key = http2 ? "h2|" + host.addressString() : host.addressString();
        ConnectionPool pool = byHost.get(key);
        if (pool == null) {
            pool = http2 ? new Http2ConnectionPool(loop, cluster, host) : new Http1ConnectionPool(loop, cluster, host);
            byHost.put(key, pool);
        }
        return pool;
    }

    /** Drains and forgets the pools of clusters that are no longer in use, on the current event loop. */
    public static void retire(UpstreamCluster cluster) {
        Map<String, ConnectionPool> byHost = POOLS.get().remove(cluster);
        if (byHost != null) {
            byHost.values().forEach(ConnectionPool::drain);
        }
    }
}
