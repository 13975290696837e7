package io.jmesh.proxy.filter.fault;

import com.google.protobuf.util.Durations;

import io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.filter.FractionalPercents;

/**
 * The validated form of one {@link HTTPFault}
 * (<a href="https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/http/fault/v3/fault.proto">fault.proto</a>):
 * an optional fixed (or header-controlled) delay and an optional abort (HTTP status, gRPC status or
 * header-controlled), each applied to a {@code percentage} of requests. Immutable and thread-safe.
 *
 * <p>Not supported, and rejected: {@code headers}, {@code downstream_nodes}, {@code upstream_cluster},
 * {@code max_active_faults}, {@code response_rate_limit}.
 */
final class FaultSettings {

    /** Abort status from the {@code x-envoy-fault-abort-request} header ({@code header_abort}). */
    static final String ABORT_HEADER = "x-envoy-fault-abort-request";
    /** gRPC abort status from the {@code x-envoy-fault-abort-grpc-request} header ({@code header_abort}). */
    static final String ABORT_GRPC_HEADER = "x-envoy-fault-abort-grpc-request";
    /** Delay in milliseconds from the {@code x-envoy-fault-delay-request} header ({@code header_delay}). */
    static final String DELAY_HEADER = "x-envoy-fault-delay-request";

    final boolean hasDelay;
    final long delayMillis;
    final boolean headerDelay;
    final int delayNumerator;
    final int delayDenominator;

    final boolean hasAbort;
    final int abortHttpStatus;
    final int abortGrpcStatus;
    final boolean headerAbort;
    final int abortNumerator;
    final int abortDenominator;

    private FaultSettings(HTTPFault f) throws ConfigException {
        if (f.getHeadersCount() > 0) {
            throw new ConfigException("headers: [" + f.getHeadersCount() + " matchers] (expected: none; match in the route)");
        }
        if (f.getDownstreamNodesCount() > 0) {
            throw new ConfigException("downstream_nodes: " + f.getDownstreamNodesList() + " (expected: none)");
        }
        if (!f.getUpstreamCluster().isEmpty()) {
            throw new ConfigException("upstream_cluster: " + f.getUpstreamCluster() + " (expected: \"\")");
        }
        if (f.hasMaxActiveFaults()) {
            throw new ConfigException("max_active_faults: " + f.getMaxActiveFaults().getValue() + " (expected: unset)");
        }
        if (f.hasResponseRateLimit()) {
            throw new ConfigException("response_rate_limit: set (expected: unset)");
        }
        hasDelay = f.hasDelay();
        FaultDelay d = f.getDelay();
        headerDelay = d.hasHeaderDelay();
        if (hasDelay && !headerDelay) {
            if (!d.hasFixedDelay()) {
                throw new ConfigException("delay.fault_delay_secifier: null (expected: fixed_delay or header_delay)");
            }
            delayMillis = Durations.toMillis(d.getFixedDelay());
            if (delayMillis < 0) {
                throw new ConfigException("delay.fixed_delay: " + Durations.toString(d.getFixedDelay()) + " (expected: >= 0s)");
            }
        } else {
            delayMillis = 0;
        }
        delayNumerator = d.getPercentage().getNumerator();
        delayDenominator = FractionalPercents.denominator(d.getPercentage(), "delay.percentage.denominator");

        hasAbort = f.hasAbort();
        FaultAbort a = f.getAbort();
        headerAbort = a.hasHeaderAbort();
        abortGrpcStatus = a.getErrorTypeCase() == FaultAbort.ErrorTypeCase.GRPC_STATUS ? a.getGrpcStatus() : -1;
        if (a.getErrorTypeCase() == FaultAbort.ErrorTypeCase.HTTP_STATUS) {
            abortHttpStatus = a.getHttpStatus();
            if (abortHttpStatus < 200 || abortHttpStatus >= 600) {
                throw new ConfigException("abort.http_status: " + abortHttpStatus + " (expected: 200..599)");
            }
        } else {
            abortHttpStatus = abortGrpcStatus >= 0 ? 200 : -1;
        }
        if (hasAbort && a.getErrorTypeCase() == FaultAbort.ErrorTypeCase.ERRORTYPE_NOT_SET) {
            throw new ConfigException("abort.error_type: null (expected: http_status, grpc_status or header_abort)");
        }
        abortNumerator = a.getPercentage().getNumerator();
        abortDenominator = FractionalPercents.denominator(a.getPercentage(), "abort.percentage.denominator");
    }

    /** Parses and validates; null when {@code f} injects nothing (the filter-level default of Istio). */
    static FaultSettings from(HTTPFault f) throws ConfigException {
        FaultSettings s = new FaultSettings(f);
        return s.hasDelay || s.hasAbort ? s : null;
    }
}
