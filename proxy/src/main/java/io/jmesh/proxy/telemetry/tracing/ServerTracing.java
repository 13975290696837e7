package io.jmesh.proxy.telemetry.tracing;

import java.util.HashMap;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.function.Supplier;

import com.google.protobuf.ByteString;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.trace.v3.Tracing;
import io.jmesh.proxy.extension.ServerLifecycle;
import io.jmesh.proxy.telemetry.Stats;

/**
 * What tracing knows about the server it runs in: the node (its id is the {@code node_id} tag, its cluster the
 * Zipkin service name), the bootstrap's {@code tracing.http} provider (used by an HCM whose {@code tracing} has no
 * {@code provider}), and one exporter per distinct provider config, shared by every HCM that names it and kept
 * across listener updates, closed when the server shuts down. Found by the server's {@link Stats}. Thread-safe.
 */
public final class ServerTracing {

    private static final Map<Stats, ServerTracing> BY_STATS = new WeakHashMap<>();

    private volatile Node node = Node.getDefaultInstance();
    private volatile Tracing.Http bootstrapProvider;
    private final Map<ByteString, SpanExporter> exporters = new HashMap<>();

    private ServerTracing() {}

    /** The tracing state of the server whose stats are {@code stats} (a new, empty one if none registered yet). */
    public static ServerTracing of(Stats stats) {
        synchronized (BY_STATS) {
            return BY_STATS.computeIfAbsent(stats, s -> new ServerTracing());
        }
    }

    /**
     * Records the bootstrap's node and {@code tracing} (may be the default instance: no provider) for the server
     * whose stats are {@code stats}, and closes its exporters when {@code lifecycle} shuts down.
     */
    public static void register(Stats stats, Node node, io.envoyproxy.envoy.config.trace.v3.Tracing tracing,
                                ServerLifecycle lifecycle) {
        ServerTracing t = of(stats);
        t.node = node;
        t.bootstrapProvider = tracing != null && tracing.hasHttp() ? tracing.getHttp() : null;
        lifecycle.onShutdown(() -> {
            t.close();
            synchronized (BY_STATS) {
                BY_STATS.remove(stats); // its exporters reach the server, and so its stats: drop it explicitly
            }
        });
    }

    /** The bootstrap's {@code tracing.http}, or null. */
    public Tracing.Http bootstrapProvider() {
        return bootstrapProvider;
    }

    public Node node() {
        return node;
    }

    /** The exporter for a provider config, created by {@code factory} the first time that config is seen. */
    SpanExporter exporter(Tracing.Http provider, Supplier<SpanExporter> factory) {
        ByteString key = provider.toByteString();
        synchronized (exporters) {
            return exporters.computeIfAbsent(key, k -> factory.get());
        }
    }

    /** Sends what every exporter holds and closes them. */
    public void close() {
        synchronized (exporters) {
            exporters.values().forEach(SpanExporter::close);
            exporters.clear();
        }
    }
}
