package io.jmesh.proxy.upstream;

import java.util.OptionalLong;

import io.jmesh.proxy.stream.ResponseFlag;

/**
 * One upstream request: one attempt of a downstream request (HTTP, RPC, a mirrored copy) or one proxied TCP
 * connection, against one host of a cluster. It is the single place where the proxy's protocols pick a host,
 * take a circuit-breaker slot, count upstream stats and report outcomes to outlier detection, the way Envoy's
 * router {@code UpstreamRequest} and connection pools do it for every protocol.
 *
 * <p>Life cycle, on one event loop:
 * <ol>
 *   <li>{@link #start} picks a host with the caller's {@link LoadBalancerContext} (its hash; hosts it rejects,
 *       e.g. the previous attempt's: Envoy's {@code previous_hosts} predicate), also re-picking around a host
 *       ejected by outlier detection after the balancer was built; then takes one {@code max_requests} slot
 *       (Envoy's per-upstream-request slot) and counts {@code upstream_rq_total}, {@code upstream_rq_active},
 *       host {@code rq_total} and the host's active requests. With no host it returns
 *       {@link #NO_HEALTHY_UPSTREAM} ({@code upstream_cx_none_healthy} counted once); with the breaker full
 *       {@link #OVERFLOW} ({@code upstream_rq_pending_overflow} counted). Neither holds anything.</li>
 *   <li>At most one outcome is reported, the first one wins: {@link #onResponse(int)} (a response, as an HTTP
 *       status; the request stays open until {@link #end()}), or one that also ends the request:
 *       {@link #onConnectFailure()}, {@link #onReset()}, {@link #onTimeout()}, {@link #onPerTryTimeout()},
 *       {@link #onConnected()}.</li>
 *   <li>{@link #end()} gives back the slot and the active counts; it is idempotent, so every path of the caller may
 *       call it and the slot is released exactly once.</li>
 * </ol>
 *
 * <p>Stats follow Envoy: host {@code rq_success} for a status below 500, {@code rq_error} for 5xx, resets and
 * connect failures; host {@code rq_timeout} for timeouts; {@code upstream_rq_<code>}/{@code _<N>xx} per response.
 * Connect failures are counted as {@code upstream_cx_connect_fail} by whoever opens the connection (pools), not
 * here. Retries take a {@code max_retries} slot with {@link #tryAcquireRetry} from the moment a retry is decided
 * until its attempt {@linkplain #start starts} ({@link #releaseRetry}), as Envoy's retry state does.
 *
 * <p>Not thread-safe: confined to the event loop of the request. Cluster-wide counters and breakers are atomic.
 */
public final class UpstreamRequest implements LoadBalancerContext {

    /** Why {@link #start} gave no request. */
    public enum Failure {
        /** The cluster has no healthy host ({@link ResponseFlag#NO_HEALTHY_UPSTREAM}, {@code UH}). */
        NO_HEALTHY_UPSTREAM(ResponseFlag.NO_HEALTHY_UPSTREAM),
        /** {@code max_requests} is full ({@link ResponseFlag#UPSTREAM_OVERFLOW}, {@code UO}). */
        OVERFLOW(ResponseFlag.UPSTREAM_OVERFLOW);

        private final ResponseFlag flag;

        Failure(ResponseFlag flag) {
            this.flag = flag;
        }

        /** The access-log flag of this failure. */
        public ResponseFlag responseFlag() {
            return flag;
        }
    }

    /** {@link #start} found no healthy host. Holds nothing; every method is a no-op. */
    public static final UpstreamRequest NO_HEALTHY_UPSTREAM = new UpstreamRequest(Failure.NO_HEALTHY_UPSTREAM);
    /** {@link #start} found {@code max_requests} full. Holds nothing; every method is a no-op. */
    public static final UpstreamRequest OVERFLOW = new UpstreamRequest(Failure.OVERFLOW);

    private final Failure failure;
    private final UpstreamCluster cluster;
    private final LoadBalancerContext context;
    private Host host;
    private boolean reported;
    private boolean ended;

    private UpstreamRequest(Failure failure) {
        this.failure = failure;
        this.cluster = null;
        this.context = null;
        this.reported = true;
        this.ended = true;
    }

    private UpstreamRequest(UpstreamCluster cluster, LoadBalancerContext context) {
        this.failure = null;
        this.cluster = cluster;
        this.context = context == null ? LoadBalancerContext.NONE : context;
    }

    /**
     * Picks a host of {@code cluster} and takes a {@code max_requests} slot; returns the started request, or
     * {@link #NO_HEALTHY_UPSTREAM} / {@link #OVERFLOW}. Never blocks.
     *
     * @param context the request's hash and hosts to avoid; null for none
     */
    public static UpstreamRequest start(UpstreamCluster cluster, LoadBalancerContext context) {
        final UpstreamRequest r = new UpstreamRequest(cluster, context);
        final Host h = cluster.chooseHost(r); // counts upstream_cx_none_healthy when null
        if (h == null) {
            return NO_HEALTHY_UPSTREAM;
        }
        if (!cluster.circuitBreakers().tryAcquireRequest()) {
            cluster.stats().upstreamRqPendingOverflow().inc();
            return OVERFLOW;
        }
        r.host = h;
        final ClusterStats s = cluster.stats();
        s.upstreamRqTotal().inc();
        s.upstreamRqActive().inc();
        h.requestStarted();
        h.stats().incRqTotal();
        return r;
    }

    /**
     * Takes a {@code max_retries} slot for a retry about to be made and counts {@code upstream_rq_retry}; on
     * overflow counts {@code upstream_rq_retry_overflow} and returns false (the caller flags {@code UO} and does
     * not retry). A caller that got true calls {@link #releaseRetry} once, when the retry's attempt starts (or
     * the request ends first).
     */
    public static boolean tryAcquireRetry(UpstreamCluster cluster) {
        if (cluster.circuitBreakers().tryAcquireRetry()) {
            cluster.stats().upstreamRqRetry().inc();
            return true;
        }
        cluster.stats().upstreamRqRetryOverflow().inc();
        return false;
    }

    /** Gives back the slot of {@link #tryAcquireRetry}. */
    public static void releaseRetry(UpstreamCluster cluster) {
        cluster.circuitBreakers().releaseRetry();
    }

    /** Whether {@link #start} gave a request (else this is {@link #NO_HEALTHY_UPSTREAM} or {@link #OVERFLOW}). */
    public boolean started() {
        return failure == null;
    }

    /** Why {@link #start} gave no request; null for a started one. */
    public Failure failure() {
        return failure;
    }

    /** The chosen host; null when not {@linkplain #started() started}. */
    public Host host() {
        return host;
    }

    /** The cluster; null when not {@linkplain #started() started}. */
    public UpstreamCluster cluster() {
        return cluster;
    }

    /** Whether {@link #end()} was called (or the request never started). */
    public boolean ended() {
        return ended;
    }

    /**
     * A response came from the host, as an HTTP status (RPC codecs map theirs, see docs/rpc.md): reports it to
     * outlier detection, counts {@code upstream_rq_<code>} and host {@code rq_success}/{@code rq_error}. Does not
     * end the request: the caller calls {@link #end()} when the response is complete (or retried). Only the first
     * outcome counts.
     */
    public void onResponse(int httpStatus) {
        if (reported) {
            return;
        }
        reported = true;
        cluster.reportResult(host, httpStatus);
        cluster.stats().recordResponseCode(httpStatus);
        if (httpStatus >= 500) {
            host.stats().incRqError();
        } else {
            host.stats().incRqSuccess();
        }
    }

    /** The connection to the host could not be opened: a local-origin failure (503), host {@code rq_error}; ends. */
    public void onConnectFailure() {
        localOriginFailure(false);
        end();
    }

    /** The connection or stream was reset before a response: a local-origin failure (503), host {@code rq_error}; ends. */
    public void onReset() {
        localOriginFailure(false);
        end();
    }

    /**
     * The request's timeout fired: counts {@code upstream_rq_timeout} and host {@code rq_timeout} and, unless a
     * response was already reported, a local-origin failure (504); ends.
     */
    public void onTimeout() {
        if (ended) {
            return;
        }
        cluster.stats().upstreamRqTimeout().inc();
        timedOut();
    }

    /** The attempt's {@code per_try_timeout} fired: {@code upstream_rq_per_try_timeout}, otherwise as {@link #onTimeout()}. */
    public void onPerTryTimeout() {
        if (ended) {
            return;
        }
        cluster.stats().upstreamRqPerTryTimeout().inc();
        timedOut();
    }

    /**
     * The connection to the host is open and nothing more will be reported for it (TCP proxying; Envoy's
     * {@code LocalOriginConnectSuccessFinal}). Does not end the request: the proxied connection holds its slot
     * until {@link #end()}.
     */
    public void onConnected() {
        if (reported) {
            return;
        }
        reported = true;
        cluster.reportLocalOriginSuccess(host);
    }

    /** Ends the request: gives back its {@code max_requests} slot and active counts. Idempotent. */
    public void end() {
        if (ended) {
            return;
        }
        ended = true;
        host.requestFinished();
        cluster.circuitBreakers().releaseRequest();
        cluster.stats().upstreamRqActive().dec();
    }

    private void timedOut() {
        host.stats().incRqTimeout();
        if (!reported) {
            reported = true;
            cluster.reportLocalOriginFailure(host, true);
        }
        end();
    }

    private void localOriginFailure(boolean timeout) {
        if (reported || ended) {
            return;
        }
        reported = true;
        host.stats().incRqError();
        cluster.reportLocalOriginFailure(host, timeout);
    }

    // ---- LoadBalancerContext, for the pick in start()

    @Override
    public OptionalLong hashKey() {
        return context.hashKey();
    }

    @Override
    public java.net.InetSocketAddress downstreamDestination() {
        return context.downstreamDestination();
    }

    @Override
    public boolean shouldSelectAnotherHost(Host h) {
        return h.ejected() || context.shouldSelectAnotherHost(h);
    }

    @Override
    public String toString() {
        return failure != null ? "UpstreamRequest(" + failure + ')'
                               : "UpstreamRequest(" + cluster.name() + ", " + host + (ended ? ", ended)" : ")");
    }
}
