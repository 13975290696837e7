package io.jmesh.proxy.upstream;

import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.Duration;
import com.google.protobuf.util.Durations;

import io.envoyproxy.envoy.config.cluster.v3.OutlierDetection;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.Gauge;
import io.jmesh.proxy.telemetry.Stats;

/**
 * Passive outlier detection of one cluster, as Envoy's
 * (<a href="https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/outlier">outlier
 * detection</a>): {@code consecutive_5xx} (default 5, enforced 100%) and {@code consecutive_gateway_failure}
 * (default 5, enforced {@code enforcing_consecutive_gateway_failure}, default 0%). Connect failures, resets and
 * timeouts count as gateway failures and 5xx; with {@code split_external_local_origin_errors} they count
 * toward {@code consecutive_local_origin_failure} (default 5, enforced 100%) instead, as in Envoy.
 * An ejected host is unhealthy for the load balancers for {@code base_ejection_time} (30 s) times its number
 * of ejections, capped at {@code max_ejection_time} (300 s), and returns at the first {@code interval} tick
 * (10 s) after that. At most {@code max_ejection_percent} (10%) of the hosts are ejected, except that with
 * {@code always_eject_one_host} one host may always be (current Envoy; so with the defaults a cluster needs 10
 * hosts before any ejection). Success-rate and failure-percentage detection are not implemented.
 *
 * <p>Stats under {@code cluster.<name>.outlier_detection.}: {@code ejections_active},
 * {@code ejections_enforced_total}, {@code ejections_enforced_consecutive_5xx},
 * {@code ejections_detected_consecutive_5xx}, {@code ejections_enforced_consecutive_gateway_failure},
 * {@code ejections_detected_consecutive_gateway_failure}, {@code ejections_overflow}.
 *
 * <p>Results are reported from any event loop without locks; an ejection or un-ejection rebuilds the cluster's
 * host set on a shared timer thread, never on an event loop.
 */
final class OutlierDetector {

    private static final Logger logger = LoggerFactory.getLogger(OutlierDetector.class);

    /** One daemon thread for every cluster's ejections and un-ejection sweeps. */
    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "jmesh-outlier-detection");
        t.setDaemon(true);
        return t;
    });

    private final UpstreamCluster cluster;
    private final int consecutive5xx;
    private final int enforcing5xx;
    private final int consecutiveGateway;
    private final int enforcingGateway;
    private final long intervalNanos;
    private final long baseEjectionNanos;
    private final long maxEjectionNanos;
    private final int maxEjectionPercent;
    private final boolean alwaysEjectOneHost;
    private final boolean split;
    private final int consecutiveLocal;
    private final int enforcingLocal;
    private final AtomicBoolean sweepScheduled = new AtomicBoolean();
    private volatile boolean closed;

    private final Gauge ejectionsActive;
    private final Counter enforcedTotal;
    private final Counter enforced5xx;
    private final Counter detected5xx;
    private final Counter enforcedGateway;
    private final Counter detectedGateway;
    private final Counter overflow;
    private final Counter enforcedLocal;
    private final Counter detectedLocal;

    /** The outlier state of one host, shared by the {@link Host} objects of one address across updates. */
    static final class State {
        final AtomicInteger consecutive5xx = new AtomicInteger();
        final AtomicInteger consecutiveGateway = new AtomicInteger();
        final AtomicInteger consecutiveLocal = new AtomicInteger();
        volatile boolean ejected;
        /** Guarded by the detector's cluster. */
        long ejectedAtNanos;
        int ejections;
        boolean ejectedThisInterval;
    }

    private OutlierDetector(UpstreamCluster cluster, OutlierDetection od, Stats stats, String prefix)
            throws ConfigException {
        this.cluster = cluster;
        this.consecutive5xx = od.hasConsecutive5Xx() ? od.getConsecutive5Xx().getValue() : 5;
        this.enforcing5xx = percent(od.hasEnforcingConsecutive5Xx() ? od.getEnforcingConsecutive5Xx().getValue() : 100,
                "enforcing_consecutive_5xx");
        this.consecutiveGateway = od.hasConsecutiveGatewayFailure() ? od.getConsecutiveGatewayFailure().getValue() : 5;
        this.enforcingGateway = percent(od.hasEnforcingConsecutiveGatewayFailure()
                ? od.getEnforcingConsecutiveGatewayFailure().getValue() : 0, "enforcing_consecutive_gateway_failure");
        this.intervalNanos = positive(od.hasInterval() ? od.getInterval() : Durations.fromSeconds(10), "interval");
        this.baseEjectionNanos = positive(od.hasBaseEjectionTime() ? od.getBaseEjectionTime()
                : Durations.fromSeconds(30), "base_ejection_time");
        this.maxEjectionNanos = Math.max(baseEjectionNanos, positive(od.hasMaxEjectionTime() ? od.getMaxEjectionTime()
                : Durations.fromSeconds(300), "max_ejection_time"));
        this.maxEjectionPercent = percent(od.hasMaxEjectionPercent() ? od.getMaxEjectionPercent().getValue() : 10,
                "max_ejection_percent");
        this.alwaysEjectOneHost = od.hasAlwaysEjectOneHost() && od.getAlwaysEjectOneHost().getValue();
        this.split = od.getSplitExternalLocalOriginErrors();
        this.consecutiveLocal = od.hasConsecutiveLocalOriginFailure() ? od.getConsecutiveLocalOriginFailure().getValue() : 5;
        this.enforcingLocal = percent(od.hasEnforcingConsecutiveLocalOriginFailure()
                ? od.getEnforcingConsecutiveLocalOriginFailure().getValue() : 100,
                "enforcing_consecutive_local_origin_failure");
        String p = prefix + "outlier_detection.";
        ejectionsActive = stats.gauge(p + "ejections_active");
        enforcedTotal = stats.counter(p + "ejections_enforced_total");
        enforced5xx = stats.counter(p + "ejections_enforced_consecutive_5xx");
        detected5xx = stats.counter(p + "ejections_detected_consecutive_5xx");
        enforcedGateway = stats.counter(p + "ejections_enforced_consecutive_gateway_failure");
        detectedGateway = stats.counter(p + "ejections_detected_consecutive_gateway_failure");
        overflow = stats.counter(p + "ejections_overflow");
        enforcedLocal = stats.counter(p + "ejections_enforced_consecutive_local_origin_failure");
        detectedLocal = stats.counter(p + "ejections_detected_consecutive_local_origin_failure");
    }

    /** The detector of {@code cluster}'s {@code outlier_detection}, or null when it has none. */
    static OutlierDetector create(UpstreamCluster cluster, Stats stats, String prefix) throws ConfigException {
        if (!cluster.config().hasOutlierDetection()) {
            return null;
        }
        return new OutlierDetector(cluster, cluster.config().getOutlierDetection(), stats, prefix);
    }

    private static int percent(int v, String path) throws ConfigException {
        if (v < 0 || v > 100) {
            throw new ConfigException("outlier_detection." + path + ": " + Integer.toUnsignedString(v)
                    + " (expected: 0..100)");
        }
        return v;
    }

    private static long positive(Duration d, String path) throws ConfigException {
        long nanos = Durations.toNanos(d);
        if (nanos <= 0) {
            throw new ConfigException("outlier_detection." + path + ": " + Durations.toString(d) + " (expected: > 0s)");
        }
        return nanos;
    }

    /**
     * Records a failure of this proxy to get a response from {@code host} (connect failure, reset: 503;
     * timeout: 504). With {@code split_external_local_origin_errors} it counts toward
     * {@code consecutive_local_origin_failure} only; otherwise as that HTTP status.
     */
    void reportLocalOriginFailure(Host host, int mappedStatus) {
        if (!split) {
            report(host, mappedStatus);
            return;
        }
        State s = host.outlierState();
        if (!s.ejected && s.consecutiveLocal.incrementAndGet() >= consecutiveLocal) {
            s.consecutiveLocal.set(0);
            detectedLocal.inc();
            if (roll(enforcingLocal)) {
                TIMER.execute(() -> eject(host, enforcedLocal));
            }
        }
    }

    /**
     * Records that a connection to {@code host} was opened and no further result will follow (Envoy's
     * {@code LocalOriginConnectSuccessFinal}, reported by TCP proxying): with
     * {@code split_external_local_origin_errors} it clears the consecutive local-origin failures, otherwise it
     * counts as a 200.
     */
    void reportLocalOriginSuccess(Host host) {
        if (split) {
            resetIfSet(host.outlierState().consecutiveLocal);
            return;
        }
        report(host, 200);
    }

    /** Records the HTTP status of one response from {@code host}. */
    void report(Host host, int status) {
        State s = host.outlierState();
        if (s.ejected) {
            return;
        }
        if (split) {
            resetIfSet(s.consecutiveLocal); // the host answered
        }
        boolean fiveXx = status >= 500;
        boolean gateway = status == 502 || status == 503 || status == 504;
        if (!fiveXx) {
            resetIfSet(s.consecutive5xx);
            resetIfSet(s.consecutiveGateway);
            return;
        }
        if (gateway) {
            if (s.consecutiveGateway.incrementAndGet() >= consecutiveGateway) {
                s.consecutiveGateway.set(0);
                detectedGateway.inc();
                if (roll(enforcingGateway)) {
                    TIMER.execute(() -> eject(host, enforcedGateway));
                    return;
                }
            }
        } else {
            resetIfSet(s.consecutiveGateway);
        }
        if (s.consecutive5xx.incrementAndGet() >= consecutive5xx) {
            s.consecutive5xx.set(0);
            detected5xx.inc();
            if (roll(enforcing5xx)) {
                TIMER.execute(() -> eject(host, enforced5xx));
            }
        }
    }

    /** Clears a counter without writing the shared cache line when it is already 0 (the common case). */
    private static void resetIfSet(AtomicInteger counter) {
        if (counter.get() != 0) {
            counter.set(0);
        }
    }

    private static boolean roll(int percent) {
        return percent >= 100 || (percent > 0 && ThreadLocalRandom.current().nextInt(100) < percent);
    }

    /** On the timer thread. */
    private void eject(Host host, Counter enforcedKind) {
        if (closed) {
            return;
        }
        State s = host.outlierState();
        synchronized (cluster) {
            if (s.ejected) {
                return;
            }
            List<Host> hosts = cluster.hosts();
            long active = ejectionsActive.get();
            if (100.0 * (active + 1) / Math.max(1, hosts.size()) > maxEjectionPercent
                    && !(alwaysEjectOneHost && active == 0)) {
                overflow.inc();
                return;
            }
            s.ejected = true;
            s.ejectedAtNanos = System.nanoTime();
            s.ejections++;
            s.ejectedThisInterval = true;
            cluster.refreshHealth(); // before the stats, so that a reader of the stats sees the new host set
            ejectionsActive.inc();
            enforcedTotal.inc();
            enforcedKind.inc();
            logger.info("cluster {}: ejecting host {} (ejection #{})", cluster.name(), host.addressString(), s.ejections);
        }
        if (sweepScheduled.compareAndSet(false, true)) {
            TIMER.schedule(this::sweep, intervalNanos, TimeUnit.NANOSECONDS);
        }
    }

    /** The interval tick: returns hosts whose ejection time is over; runs while any host is ejected. */
    private void sweep() {
        if (closed) {
            return;
        }
        boolean anyEjected = false;
        synchronized (cluster) {
            long now = System.nanoTime();
            boolean changed = false;
            for (Host h : cluster.hosts()) {
                State s = h.outlierState();
                if (s.ejected) {
                    long duration = Math.min(maxEjectionNanos, baseEjectionNanos * s.ejections);
                    if (now - s.ejectedAtNanos >= duration) {
                        s.ejected = false;
                        s.consecutive5xx.set(0);
                        s.consecutiveGateway.set(0);
                        s.consecutiveLocal.set(0);
                        changed = true;
                        logger.info("cluster {}: host {} returns after ejection", cluster.name(), h.addressString());
                    } else {
                        anyEjected = true;
                    }
                } else if (s.ejections > 0 && !s.ejectedThisInterval) {
                    s.ejections--; // a healthy interval lowers the next ejection's multiplier, as in Envoy
                }
                s.ejectedThisInterval = false;
            }
            if (changed) {
                cluster.refreshHealth();
                long stillEjected = cluster.hosts().stream().filter(Host::ejected).count();
                ejectionsActive.set(stillEjected);
            }
        }
        sweepScheduled.set(false);
        if (anyEjected && sweepScheduled.compareAndSet(false, true)) {
            TIMER.schedule(this::sweep, intervalNanos, TimeUnit.NANOSECONDS);
        }
    }

    /** Stops the timer work of a retired cluster and takes its ejections out of {@code ejections_active}. */
    void close() {
        closed = true;
        synchronized (cluster) {
            for (Host h : cluster.hosts()) {
                State s = h.outlierState();
                if (s.ejected) {
                    s.ejected = false;
                    ejectionsActive.dec();
                }
            }
        }
    }
}
