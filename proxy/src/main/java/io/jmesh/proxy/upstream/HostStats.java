package io.jmesh.proxy.upstream;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Per-host statistics, as Envoy's admin {@code /clusters} shows them ({@code rq_total}, {@code rq_success},
 * {@code rq_error}, {@code cx_total}, {@code cx_active}, {@code cx_connect_fail}). They are not in the
 * proxy's {@link io.jmesh.proxy.telemetry.Stats} store (Envoy does not export per-host stats either).
 * Thread-safe and lock-free. A host that survives a host-set update (same address) keeps its stats.
 */
public final class HostStats {

    private final LongAdder rqTotal = new LongAdder();
    private final LongAdder rqSuccess = new LongAdder();
    private final LongAdder rqError = new LongAdder();
    private final LongAdder rqTimeout = new LongAdder();
    private final LongAdder cxTotal = new LongAdder();
    private final LongAdder cxConnectFail = new LongAdder();
    private final AtomicLong cxActive = new AtomicLong();

    HostStats() {
    }

    public void incRqTotal() {
        rqTotal.increment();
    }

    public void incRqSuccess() {
        rqSuccess.increment();
    }

    public void incRqError() {
        rqError.increment();
    }

    public void incRqTimeout() {
        rqTimeout.increment();
    }

    public void incCxTotal() {
        cxTotal.increment();
    }

    public void incCxConnectFail() {
        cxConnectFail.increment();
    }

    public void incCxActive() {
        cxActive.incrementAndGet();
    }

    public void decCxActive() {
        cxActive.decrementAndGet();
    }

    public long rqTotal() {
        return rqTotal.sum();
    }

    public long rqSuccess() {
        return rqSuccess.sum();
    }

    public long rqError() {
        return rqError.sum();
    }

    public long rqTimeout() {
        return rqTimeout.sum();
    }

    public long cxTotal() {
        return cxTotal.sum();
    }

    public long cxConnectFail() {
        return cxConnectFail.sum();
    }

    public long cxActive() {
        return cxActive.get();
    }
}
