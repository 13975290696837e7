package io.jmesh.proxy.upstream;

import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.Gauge;
import io.jmesh.proxy.telemetry.Stats;

/**
 * A cluster's stats under Envoy's names, {@code cluster.<stat_name>.<stat>} where {@code stat_name} is the
 * cluster's {@code alt_stat_name} or else its {@code name}
 * (<a href="https://www.envoyproxy.io/docs/envoy/latest/configuration/upstream/cluster_manager/cluster_stats">cluster
 * statistics</a>). Every counter and gauge is looked up once and kept here; callers on the hot path use the
 * accessors. Thread-safe.
 */
public final class ClusterStats {

    private static final int MIN_CODE = 100;
    private static final int MAX_CODE = 599;

    private final Stats stats;
    private final String prefix;
    private final Counter upstreamRqTotal;
    private final Counter upstreamRq1xx;
    private final Counter upstreamRq2xx;
    private final Counter upstreamRq3xx;
    private final Counter upstreamRq4xx;
    private final Counter upstreamRq5xx;
    private final Counter upstreamRqTimeout;
    private final Counter upstreamRqRetry;
    private final Counter upstreamRqRetrySuccess;
    private final Counter upstreamRqRetryOverflow;
    private final Counter upstreamRqPerTryTimeout;
    private final Counter upstreamRqPendingOverflow;
    private final Counter upstreamRqPendingTotal;
    private final Counter upstreamCxTotal;
    private final Counter upstreamCxConnectFail;
    private final Counter upstreamCxOverflow;
    private final Counter upstreamCxConnectTimeout;
    private final Counter upstreamCxDestroy;
    private final Counter upstreamCxNoneHealthy;
    private final Counter upstreamCxRxBytesTotal;
    private final Counter upstreamCxTxBytesTotal;
    private final Counter http2KeepaliveTimeout;
    private final Counter membershipChange;
    private final Counter updateAttempt;
    private final Counter updateSuccess;
    private final Counter updateFailure;
    private final Counter updateNoRebuild;
    private final Gauge upstreamRqActive;
    private final Gauge upstreamCxActive;
    private final Gauge upstreamRqPendingActive;
    private final Gauge membershipHealthy;
    private final Gauge membershipTotal;
    /** upstream_rq_<code>, filled on first use; a racy fill is harmless since Stats returns one object per name. */
    private final Counter[] byCode = new Counter[MAX_CODE - MIN_CODE + 1];

    ClusterStats(Stats stats, String statName) {
        this.stats = stats;
        this.prefix = "cluster." + statName + '.';
        upstreamRqTotal = counter("upstream_rq_total");
        upstreamRq1xx = counter("upstream_rq_1xx");
        upstreamRq2xx = counter("upstream_rq_2xx");
        upstreamRq3xx = counter("upstream_rq_3xx");
        upstreamRq4xx = counter("upstream_rq_4xx");
        upstreamRq5xx = counter("upstream_rq_5xx");
        upstreamRqTimeout = counter("upstream_rq_timeout");
        upstreamRqRetry = counter("upstream_rq_retry");
        upstreamRqRetrySuccess = counter("upstream_rq_retry_success");
        upstreamRqRetryOverflow = counter("upstream_rq_retry_overflow");
        upstreamRqPerTryTimeout = counter("upstream_rq_per_try_timeout");
        upstreamRqPendingOverflow = counter("upstream_rq_pending_overflow");
        upstreamRqPendingTotal = counter("upstream_rq_pending_total");
        upstreamCxTotal = counter("upstream_cx_total");
        upstreamCxConnectFail = counter("upstream_cx_connect_fail");
        upstreamCxOverflow = counter("upstream_cx_overflow");
        upstreamCxConnectTimeout = counter("upstream_cx_connect_timeout");
        upstreamCxDestroy = counter("upstream_cx_destroy");
        upstreamCxNoneHealthy = counter("upstream_cx_none_healthy");
        upstreamCxRxBytesTotal = counter("upstream_cx_rx_bytes_total");
        upstreamCxTxBytesTotal = counter("upstream_cx_tx_bytes_total");
        http2KeepaliveTimeout = counter("http2.keepalive_timeout");
        membershipChange = counter("membership_change");
        updateAttempt = counter("update_attempt");
        updateSuccess = counter("update_success");
        updateFailure = counter("update_failure");
        updateNoRebuild = counter("update_no_rebuild");
        upstreamRqActive = gauge("upstream_rq_active");
        upstreamCxActive = gauge("upstream_cx_active");
        upstreamRqPendingActive = gauge("upstream_rq_pending_active");
        membershipHealthy = gauge("membership_healthy");
        membershipTotal = gauge("membership_total");
    }

    private Counter counter(String name) {
        return stats.counter(prefix + name);
    }

    private Gauge gauge(String name) {
        return stats.gauge(prefix + name);
    }

    /** {@code http2.keepalive_timeout}: HTTP/2 connections closed because a keepalive PING was not answered in time. */
    public Counter http2KeepaliveTimeout() {
        return http2KeepaliveTimeout;
    }

    /** The prefix of every stat of this cluster, {@code "cluster.<stat_name>."}. */
    public String prefix() {
        return prefix;
    }

    /**
     * Counts a response: increments {@code upstream_rq_<code>} and {@code upstream_rq_<N>xx}. It does not
     * touch {@code upstream_rq_total}, which the router counts when the request starts. Codes outside
     * 100..599 only count in their class counter when it exists, and are otherwise ignored.
     */
    public void recordResponseCode(int code) {
        if (code < MIN_CODE || code > MAX_CODE) {
            return;
        }
        Counter c = byCode[code - MIN_CODE];
        if (c == null) {
            c = counter("upstream_rq_" + code);
            byCode[code - MIN_CODE] = c;
        }
        c.inc();
        switch (code / 100) {
            case 1: upstreamRq1xx.inc(); break;
            case 2: upstreamRq2xx.inc(); break;
            case 3: upstreamRq3xx.inc(); break;
            case 4: upstreamRq4xx.inc(); break;
            default: upstreamRq5xx.inc(); break;
        }
    }

    public Counter upstreamRqTotal() { return upstreamRqTotal; }
    public Counter upstreamRq1xx() { return upstreamRq1xx; }
    public Counter upstreamRq2xx() { return upstreamRq2xx; }
    public Counter upstreamRq3xx() { return upstreamRq3xx; }
    public Counter upstreamRq4xx() { return upstreamRq4xx; }
    public Counter upstreamRq5xx() { return upstreamRq5xx; }
    public Counter upstreamRqTimeout() { return upstreamRqTimeout; }
    public Counter upstreamRqRetry() { return upstreamRqRetry; }
    public Counter upstreamRqRetrySuccess() { return upstreamRqRetrySuccess; }
    public Counter upstreamRqRetryOverflow() { return upstreamRqRetryOverflow; }
    public Counter upstreamRqPerTryTimeout() { return upstreamRqPerTryTimeout; }
    public Counter upstreamRqPendingOverflow() { return upstreamRqPendingOverflow; }
    public Counter upstreamRqPendingTotal() { return upstreamRqPendingTotal; }
    public Counter upstreamCxTotal() { return upstreamCxTotal; }
    public Counter upstreamCxConnectFail() { return upstreamCxConnectFail; }
    /** {@code upstream_cx_overflow}: a connection the {@code max_connections} breaker did not allow. */
    public Counter upstreamCxOverflow() { return upstreamCxOverflow; }
    public Counter upstreamCxConnectTimeout() { return upstreamCxConnectTimeout; }
    public Counter upstreamCxDestroy() { return upstreamCxDestroy; }
    /** {@code upstream_cx_none_healthy}; {@link UpstreamCluster#chooseHost} increments it when it returns null. */
    public Counter upstreamCxNoneHealthy() { return upstreamCxNoneHealthy; }
    public Counter upstreamCxRxBytesTotal() { return upstreamCxRxBytesTotal; }
    public Counter upstreamCxTxBytesTotal() { return upstreamCxTxBytesTotal; }
    /** {@code membership_change}, incremented on every host-set swap that changes the hosts. */
    public Counter membershipChange() { return membershipChange; }
    /** {@code update_attempt}: service discovery rounds started (DNS re-resolution). */
    public Counter updateAttempt() { return updateAttempt; }
    /** {@code update_success}: rounds whose every lookup succeeded. */
    public Counter updateSuccess() { return updateSuccess; }
    /** {@code update_failure}: rounds with a failed lookup (the endpoint kept its previous addresses). */
    public Counter updateFailure() { return updateFailure; }
    /** {@code update_no_rebuild}: rounds that left the host set as it was (nothing rebuilt). */
    public Counter updateNoRebuild() { return updateNoRebuild; }
    public Gauge upstreamRqActive() { return upstreamRqActive; }
    public Gauge upstreamCxActive() { return upstreamCxActive; }
    public Gauge upstreamRqPendingActive() { return upstreamRqPendingActive; }
    /** {@code membership_healthy}, maintained by the cluster on every host-set swap. */
    public Gauge membershipHealthy() { return membershipHealthy; }
    /** {@code membership_total}, maintained by the cluster on every host-set swap. */
    public Gauge membershipTotal() { return membershipTotal; }
}
