package io.jmesh.proxy.filter.fault;

import java.util.concurrent.TimeUnit;

import io.jmesh.proxy.filter.FractionalPercents;
import io.jmesh.proxy.filter.HttpFilter;
import io.jmesh.proxy.filter.HttpFilterCallbacks;
import io.jmesh.proxy.stream.ResponseFlag;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.concurrent.ScheduledFuture;

/**
 * The fault filter of one stream, in Envoy's order: maybe delay (a timer on the stream's event loop, response
 * flag DI), then maybe abort (a local reply {@code fault filter abort}, response flag FI). The abort
 * percentage is rolled after the delay. A reset stream cancels its pending delay. A route without a fault
 * config costs one map lookup.
 */
final class FaultFilter implements HttpFilter {

    /** The per-route config of a route whose {@code HTTPFault} injects nothing (it overrides the default). */
    static final Object NO_FAULT = new Object();

    private final FaultSettings settings;
    private final FaultFilterFactory.FaultStats stats;
    private ScheduledFuture<?> delayTimer;
    private boolean active;

    /** A filter that applies {@code settings}: the route's, else the filter's own. */
    FaultFilter(FaultSettings settings, FaultFilterFactory.FaultStats stats) {
        this.settings = settings;
        this.stats = stats;
    }

    @Override
    public Status onRequestHeaders(HttpRequest request, HttpFilterCallbacks callbacks) {
        FaultSettings s = settings;
        HttpHeaders h = request.headers();
        long delay = delayMillis(s, h);
        if (delay >= 0 && FractionalPercents.roll(s.delayNumerator, s.delayDenominator)) {
            stats.delaysInjected.inc();
            stats.activeFaults.inc();
            active = true;
            callbacks.addResponseFlag(ResponseFlag.DELAY_INJECTED);
            delayTimer = callbacks.eventLoop().schedule(() -> {
                delayTimer = null;
                if (!maybeAbort(s, h, callbacks)) {
                    callbacks.continueDecoding();
                }
            }, delay, TimeUnit.MILLISECONDS);
            return Status.STOP_ITERATION;
        }
        return maybeAbort(s, h, callbacks) ? Status.STOP : Status.CONTINUE;
    }

    /** The delay to inject, or -1 for none. */
    private static long delayMillis(FaultSettings s, HttpHeaders h) {
        if (!s.hasDelay) {
            return -1;
        }
        if (!s.headerDelay) {
            return s.delayMillis;
        }
        return parse(h.get(FaultSettings.DELAY_HEADER), 0, Long.MAX_VALUE);
    }

    private boolean maybeAbort(FaultSettings s, HttpHeaders h, HttpFilterCallbacks callbacks) {
        if (!s.hasAbort) {
            return false;
        }
        int http = s.abortHttpStatus;
        int grpc = s.abortGrpcStatus;
        if (s.headerAbort) {
            http = (int) parse(h.get(FaultSettings.ABORT_HEADER), 200, 599);
            grpc = (int) parse(h.get(FaultSettings.ABORT_GRPC_HEADER), 0, Integer.MAX_VALUE);
            if (grpc >= 0) {
                http = 200;
            } else if (http < 0) {
                return false;
            }
        }
        if (!FractionalPercents.roll(s.abortNumerator, s.abortDenominator)) {
            return false;
        }
        stats.abortsInjected.inc();
        callbacks.addResponseFlag(ResponseFlag.FAULT_INJECTED);
        if (grpc >= 0) {
            int status = grpc;
            callbacks.sendLocalReply(200, "", "fault_filter_abort", rh -> {
                rh.set(HttpHeaderNames.CONTENT_TYPE, "application/grpc");
                rh.set("grpc-status", Integer.toString(status));
                rh.set("grpc-message", "fault filter abort");
            });
        } else {
            callbacks.sendLocalReply(http, "fault filter abort", "fault_filter_abort");
        }
        return true;
    }

    /** A header value as a number in {@code [min, max]}, or -1 when absent or out of range. */
    private static long parse(String v, long min, long max) {
        if (v == null) {
            return -1;
        }
        try {
            long n = Long.parseLong(v.trim());
            return n >= min && n <= max ? n : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    @Override
    public void onDestroy() {
        if (delayTimer != null) {
            delayTimer.cancel(false);
            delayTimer = null;
        }
        if (active) {
            active = false;
            stats.activeFaults.dec();
        }
    }
}
