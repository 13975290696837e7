package io.jmesh.proxy.filter.fault;

import java.util.concurrent.TimeUnit;

import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.FractionalPercents;
import io.jmesh.proxy.filter.StreamDecoderFilter;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.jmesh.proxy.stream.ResponseFlag;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.concurrent.ScheduledFuture;

/**
 * The fault filter of one stream, in Envoy's order: maybe delay (a timer on the stream's event loop, response
 * flag DI; the request body is held meanwhile, with flow control), then maybe abort (a local reply
 * {@code fault filter abort}, response flag FI; with a gRPC status, a gRPC reply carrying it). The abort
 * percentage is rolled after the delay. A reset stream cancels its pending delay. A route without a fault
 * config gets no filter.
 */
final class FaultFilter implements StreamDecoderFilter {

    /** The per-route config of a route whose {@code HTTPFault} injects nothing (it overrides the default). */
    static final Object NO_FAULT = new Object();

    private final FaultSettings settings;
    private final FaultFilterFactory.FaultStats stats;
    private ScheduledFuture<?> delayTimer;
    private boolean active;
    private StreamDecoderFilterCallbacks callbacks;

    /** A filter that applies {@code settings}: the route's, else the filter's own. */
    FaultFilter(FaultSettings settings, FaultFilterFactory.FaultStats stats) {
        this.settings = settings;
        this.stats = stats;
    }

    @Override
    public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks callbacks) {
        this.callbacks = callbacks;
    }

    @Override
    public FilterHeadersStatus decodeHeaders(HttpRequest request, boolean endStream) {
        StreamDecoderFilterCallbacks callbacks = this.callbacks;
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
            return FilterHeadersStatus.STOP_ALL_ITERATION_AND_WATERMARK;
        }
        return maybeAbort(s, h, callbacks) ? FilterHeadersStatus.STOP_ITERATION : FilterHeadersStatus.CONTINUE;
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

    private boolean maybeAbort(FaultSettings s, HttpHeaders h, StreamDecoderFilterCallbacks callbacks) {
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
            callbacks.sendLocalReply(200, "fault filter abort", "fault_filter_abort", null, grpc);
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
