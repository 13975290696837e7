package io.jmesh.proxy.filter.healthcheck;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

import io.envoyproxy.envoy.config.core.v3.HealthStatus;
import io.jmesh.proxy.filter.FilterDataStatus;
import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.FilterTrailersStatus;
import io.jmesh.proxy.filter.HttpFilter;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.jmesh.proxy.router.HeaderMatch;
import io.jmesh.proxy.stream.ResponseFlag;
import io.jmesh.proxy.upstream.ClusterManager;
import io.jmesh.proxy.upstream.Host;
import io.jmesh.proxy.upstream.UpstreamCluster;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;

/**
 * The health check filter of one stream, as Envoy's {@code HealthCheckFilter}. A request matching every
 * {@code headers} matcher is a health check. Without pass-through the proxy answers it once the request has ended:
 * 200 ({@code health_check_ok}), or 503 with response flag {@code LH} while the server fails health checks
 * ({@code POST /healthcheck/fail}: {@code health_check_failed}, in pass-through mode too; other responses then get
 * {@code x-envoy-immediate-health-check-fail: true}), when a cluster of
 * {@code cluster_min_healthy_percentages} is missing ({@code health_check_failed_no_cluster_found}), empty while its
 * minimum is above 0 ({@code health_check_failed_cluster_empty}), or has fewer healthy (or degraded) hosts than its
 * minimum percentage ({@code health_check_failed_cluster_unhealthy}). With pass-through the request goes upstream;
 * with {@code cache_time}, the upstream answer's status (and {@code x-envoy-degraded}) is remembered and health
 * checks within {@code cache_time} of it are answered from it ({@code health_check_cached}).
 */
final class HealthCheckFilter implements HttpFilter {

    /** The shared, immutable config of one filter in one chain. */
    record Config(boolean passThrough, List<HeaderMatch> headers, Map<String, Double> minHealthy,
                  Supplier<ClusterManager> clusters, Cache cache, java.util.function.BooleanSupplier failed) {}

    /** The cached upstream answer, shared by all event loops (Envoy's {@code HealthCheckCacheManager}). */
    static final class Cache {
        private final long ttlNanos;
        private volatile long setAtNanos;
        private volatile int status;
        private volatile boolean degraded;
        private volatile boolean valid;

        Cache(long ttlNanos) {
            this.ttlNanos = ttlNanos;
        }

        boolean useCached() {
            return valid && System.nanoTime() - setAtNanos < ttlNanos;
        }

        void set(int status, boolean degraded) {
            this.status = status;
            this.degraded = degraded;
            this.setAtNanos = System.nanoTime();
            this.valid = true;
        }
    }

    private final Config config;
    private StreamDecoderFilterCallbacks callbacks;
    private boolean healthCheck;
    private boolean handling;

    HealthCheckFilter(Config config) {
        this.config = config;
    }

    @Override
    public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks callbacks) {
        this.callbacks = callbacks;
    }

    @Override
    public FilterHeadersStatus decodeHeaders(HttpRequest request, boolean endStream) {
        if (matches(request)) {
            healthCheck = true;
            handling = !config.passThrough() || config.failed().getAsBoolean()
                    || (config.cache() != null && config.cache().useCached());
        }
        if (handling && endStream) {
            onComplete();
        }
        return handling ? FilterHeadersStatus.STOP_ITERATION : FilterHeadersStatus.CONTINUE;
    }

    private boolean matches(HttpRequest request) {
        for (HeaderMatch m : config.headers()) {
            if (!m.matchesValue(header(request, m.name()))) {
                return false;
            }
        }
        return true;
    }

    private static String header(HttpRequest r, String name) {
        switch (name) {
            case ":path":
                return r.uri();
            case ":method":
                return r.method().name();
            case ":authority":
                return r.headers().get("host");
            default:
                List<String> all = r.headers().getAll(name.toLowerCase(Locale.ROOT));
                return all.isEmpty() ? null : String.join(",", all);
        }
    }

    @Override
    public FilterDataStatus decodeData(ByteBuf data, boolean endStream) {
        if (!handling) {
            return FilterDataStatus.CONTINUE;
        }
        data.release(); // the body of a health check answered here is not needed
        if (endStream) {
            onComplete();
        }
        return FilterDataStatus.STOP_ITERATION_NO_BUFFER;
    }

    @Override
    public FilterTrailersStatus decodeTrailers(HttpHeaders trailers) {
        if (!handling) {
            return FilterTrailersStatus.CONTINUE;
        }
        onComplete();
        return FilterTrailersStatus.STOP_ITERATION;
    }

    private void onComplete() {
        int status = 200;
        String details = "health_check_ok";
        boolean degraded = false;
        Cache cache = config.cache();
        if (config.failed().getAsBoolean()) {
            status = 503;
            details = "health_check_failed";
        } else if (cache != null) {
            status = cache.status;
            degraded = cache.degraded;
            details = "health_check_cached";
        } else if (!config.minHealthy().isEmpty()) {
            ClusterManager cm = config.clusters().get();
            for (Map.Entry<String, Double> e : config.minHealthy().entrySet()) {
                details = "health_check_ok_cluster_healthy";
                UpstreamCluster cluster = cm == null ? null : cm.get(e.getKey());
                if (cluster == null) {
                    status = 503;
                    details = "health_check_failed_no_cluster_found";
                    break;
                }
                List<Host> hosts = cluster.hosts();
                double min = e.getValue();
                if (hosts.isEmpty()) {
                    if (min == 0) {
                        continue;
                    }
                    status = 503;
                    details = "health_check_failed_cluster_empty";
                    break;
                }
                int available = 0;
                for (Host h : hosts) {
                    if (h.healthy() || (h.healthStatus() == HealthStatus.DEGRADED && !h.ejected())) {
                        available++;
                    }
                }
                if (100.0 * available < hosts.size() * min) {
                    status = 503;
                    details = "health_check_failed_cluster_unhealthy";
                    break;
                }
            }
        }
        if (status < 200 || status >= 300) {
            callbacks.addResponseFlag(ResponseFlag.FAILED_LOCAL_HEALTH_CHECK);
        }
        boolean addDegraded = degraded;
        callbacks.sendLocalReply(status, "", details, h -> {
            if (addDegraded) {
                h.set("x-envoy-degraded", "");
            }
        }, -1);
    }

    @Override
    public FilterHeadersStatus encodeHeaders(HttpResponse response, boolean endStream) {
        if (healthCheck) {
            if (!handling && config.cache() != null) {
                config.cache().set(response.status().code(), response.headers().contains("x-envoy-degraded"));
            }
        } else if (config.failed().getAsBoolean()) {
            // Tells a downstream Envoy doing active health checks to mark this host failed at once.
            response.headers().set("x-envoy-immediate-health-check-fail", "true");
        }
        return FilterHeadersStatus.CONTINUE;
    }
}
