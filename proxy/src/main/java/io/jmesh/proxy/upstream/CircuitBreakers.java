package io.jmesh.proxy.upstream;

import java.util.concurrent.atomic.AtomicInteger;

import io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers.Thresholds;
import io.envoyproxy.envoy.config.core.v3.RoutingPriority;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.telemetry.Gauge;
import io.jmesh.proxy.telemetry.Stats;

/**
 * A cluster's circuit breakers for the {@code DEFAULT} routing priority
 * (<a href="https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/circuit_breaking">circuit
 * breaking</a>): {@code max_connections}, {@code max_pending_requests}, {@code max_requests} (each 1024 by
 * default) and {@code max_retries} (3), counted cluster-wide across event loops. A caller that gets
 * {@code true} from a {@code tryAcquire...} method must call the matching {@code release...} exactly once.
 * The gauges {@code cluster.<name>.circuit_breakers.default.cx_open}, {@code rq_pending_open},
 * {@code rq_open} and {@code rq_retry_open} are 1 while the breaker is full. Thread-safe and lock-free.
 */
public final class CircuitBreakers {

    /** Envoy's default for max_connections, max_pending_requests and max_requests. */
    public static final int DEFAULT_LIMIT = 1024;
    /** Envoy's default for max_retries. */
    public static final int DEFAULT_MAX_RETRIES = 3;

    private final Breaker connections;
    private final Breaker pending;
    private final Breaker requests;
    private final Breaker retries;

    CircuitBreakers(io.envoyproxy.envoy.config.cluster.v3.CircuitBreakers config, Stats stats, String statPrefix)
            throws ConfigException {
        Thresholds t = Thresholds.getDefaultInstance();
        for (int i = 0; i < config.getThresholdsCount(); i++) {
            Thresholds x = config.getThresholds(i);
            if (x.getPriority() == RoutingPriority.DEFAULT) {
                t = x;
            } else if (x.getPriority() != RoutingPriority.HIGH) {
                throw new ConfigException("circuit_breakers.thresholds[" + i + "].priority: " + x.getPriorityValue()
                        + " (expected: DEFAULT or HIGH)");
            }
        }
        if (t.hasRetryBudget()) {
            throw new ConfigException("circuit_breakers.thresholds.retry_budget: set (expected: unset; use max_retries)");
        }
        String p = statPrefix + "circuit_breakers.default.";
        connections = new Breaker(t.hasMaxConnections() ? t.getMaxConnections().getValue() : DEFAULT_LIMIT,
                stats.gauge(p + "cx_open"));
        pending = new Breaker(t.hasMaxPendingRequests() ? t.getMaxPendingRequests().getValue() : DEFAULT_LIMIT,
                stats.gauge(p + "rq_pending_open"));
        requests = new Breaker(t.hasMaxRequests() ? t.getMaxRequests().getValue() : DEFAULT_LIMIT,
                stats.gauge(p + "rq_open"));
        retries = new Breaker(t.hasMaxRetries() ? t.getMaxRetries().getValue() : DEFAULT_MAX_RETRIES,
                stats.gauge(p + "rq_retry_open"));
    }

    /** Takes one of {@code max_requests} (an active request on the cluster); false when full. */
    public boolean tryAcquireRequest() {
        return requests.tryAcquire();
    }

    public void releaseRequest() {
        requests.release();
    }

    /** Takes one of {@code max_pending_requests} (a request waiting for a connection); false when full. */
    public boolean tryAcquirePending() {
        return pending.tryAcquire();
    }

    public void releasePending() {
        pending.release();
    }

    /** Takes one of {@code max_retries} (a retry in progress); false when full. */
    public boolean tryAcquireRetry() {
        return retries.tryAcquire();
    }

    public void releaseRetry() {
        retries.release();
    }

    /** Takes one of {@code max_connections} (an open upstream connection); false when full. */
    public boolean tryAcquireConnection() {
        return connections.tryAcquire();
    }

    public void releaseConnection() {
        connections.release();
    }

    /** The active requests counted against {@code max_requests}. */
    public int activeRequests() {
        return requests.count.get();
    }

    /** One limit, its count and its {@code *_open} gauge. */
    private static final class Breaker {
        final long max;
        final AtomicInteger count = new AtomicInteger();
        final Gauge open;

        Breaker(int max, Gauge open) {
            this.max = Integer.toUnsignedLong(max);
            this.open = open;
        }

        boolean tryAcquire() {
            while (true) {
                int c = count.get();
                if (c >= max) {
                    return false;
                }
                if (count.compareAndSet(c, c + 1)) {
                    if (c + 1 >= max) {
                        open.set(1);
                    }
                    return true;
                }
            }
        }

        void release() {
            if (count.getAndDecrement() >= max) { // was full: the gauge is written only on that edge
                open.set(0);
            }
        }
    }
}
