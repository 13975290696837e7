package io.jmesh.ratelimit;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.util.Durations;

import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;

/**
 * {@code ShouldRateLimit} with envoyproxy/ratelimit's fixed windows: each descriptor's limit is looked up in the
 * current config; its counter key is {@code <domain>_<key>_<value>_..._<window start>} (the window start is the
 * epoch second rounded down to the unit); the counter grows by the request's {@code hits_addend} (the
 * descriptor's own {@code hits_addend} when set; 0 means 1). A descriptor is {@code OVER_LIMIT} when its counter
 * passes {@code requests_per_unit}; in {@code shadow_mode} it is reported {@code OK}. The overall code is
 * {@code OVER_LIMIT} when any descriptor is. {@code unlimited} and unmatched descriptors are {@code OK} and touch no
 * counter. A failing store answers {@code UNAVAILABLE}, so Envoy's {@code failure_mode_deny} decides.
 */
public final class RateLimitServiceImpl extends RateLimitServiceGrpc.RateLimitServiceImplBase {

    private static final Logger logger = LoggerFactory.getLogger(RateLimitServiceImpl.class);

    private final Supplier<RateLimitConfig> config;
    private final CounterStore store;
    private final LongSupplier epochSeconds;
    private final boolean responseHeaders;

    /**
     * @param config          the config serving now (read once per request)
     * @param responseHeaders adds {@code RateLimit-Limit}, {@code RateLimit-Remaining} and {@code RateLimit-Reset} of
     *                        the most limited descriptor to {@code response_headers_to_add}, as envoyproxy/ratelimit
     *                        does with {@code LIMIT_RESPONSE_HEADERS_ENABLED}
     */
    public RateLimitServiceImpl(Supplier<RateLimitConfig> config, CounterStore store, LongSupplier epochSeconds,
                                boolean responseHeaders) {
        this.config = config;
        this.store = store;
        this.epochSeconds = epochSeconds;
        this.responseHeaders = responseHeaders;
    }

    @Override
    public void shouldRateLimit(RateLimitRequest request, StreamObserver<RateLimitResponse> observer) {
        try {
            observer.onNext(check(request));
            observer.onCompleted();
        } catch (IllegalArgumentException e) {
            observer.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
        } catch (Exception e) {
            logger.warn("rate limit check for domain {} failed: {}", request.getDomain(), e.toString());
            observer.onError(Status.UNAVAILABLE.withDescription("counter store: " + e.getMessage()).asRuntimeException());
        }
    }

    /** Decides one request. */
    public RateLimitResponse check(RateLimitRequest request) throws Exception {
        if (request.getDomain().isEmpty()) {
            throw new IllegalArgumentException("rate limit domain must not be empty");
        }
        if (request.getDescriptorsCount() == 0) {
            throw new IllegalArgumentException("rate limit descriptor list must not be empty");
        }
        RateLimitConfig cfg = config.get();
        long now = epochSeconds.getAsLong();
        int n = request.getDescriptorsCount();
        RateLimitConfig.Limit[] limits = new RateLimitConfig.Limit[n];
        long[] hits = new long[n];
        List<CounterStore.Increment> incs = new ArrayList<>();
        int[] incIndex = new int[n];
        for (int i = 0; i < n; i++) {
            RateLimitDescriptor d = request.getDescriptors(i);
            List<Map.Entry<String, String>> entries = new ArrayList<>(d.getEntriesCount());
            for (RateLimitDescriptor.Entry e : d.getEntriesList()) {
                entries.add(Map.entry(e.getKey(), e.getValue()));
            }
            RateLimitConfig.Limit l = cfg.find(request.getDomain(), entries);
            limits[i] = l;
            hits[i] = d.hasHitsAddend() ? d.getHitsAddend().getValue()
                    : request.getHitsAddend() == 0 ? 1 : Integer.toUnsignedLong(request.getHitsAddend());
            incIndex[i] = -1;
            if (l != null && !l.unlimited()) {
                long unit = l.unitSeconds();
                incIndex[i] = incs.size();
                incs.add(new CounterStore.Increment(cacheKey(request.getDomain(), d, (now / unit) * unit), hits[i],
                        unit));
            }
        }
        long[] after = incs.isEmpty() ? new long[0] : store.increment(incs);
        RateLimitResponse.Builder b = RateLimitResponse.newBuilder().setOverallCode(RateLimitResponse.Code.OK);
        RateLimitResponse.DescriptorStatus min = null;
        for (int i = 0; i < n; i++) {
            RateLimitConfig.Limit l = limits[i];
            RateLimitResponse.DescriptorStatus.Builder s = RateLimitResponse.DescriptorStatus.newBuilder()
                    .setCode(RateLimitResponse.Code.OK);
            if (l != null && l.unlimited()) {
                s.setLimitRemaining(Integer.MAX_VALUE);
            } else if (l != null) {
                long count = after[incIndex[i]];
                long unit = l.unitSeconds();
                s.setCurrentLimit(RateLimitResponse.RateLimit.newBuilder().setName(l.name())
                        .setRequestsPerUnit((int) l.requestsPerUnit()).setUnit(l.unit()))
                 .setLimitRemaining((int) Math.max(0, Math.min(Integer.MAX_VALUE, l.requestsPerUnit() - count)))
                 .setDurationUntilReset(Durations.fromSeconds(unit - now % unit));
                if (count > l.requestsPerUnit() && !l.shadowMode()) {
                    s.setCode(RateLimitResponse.Code.OVER_LIMIT);
                    b.setOverallCode(RateLimitResponse.Code.OVER_LIMIT);
                }
            }
            RateLimitResponse.DescriptorStatus built = s.build();
            if (built.hasCurrentLimit() && (min == null || built.getLimitRemaining() < min.getLimitRemaining())) {
                min = built;
            }
            b.addStatuses(built);
        }
        if (responseHeaders && min != null) {
            b.addResponseHeadersToAdd(header("RateLimit-Limit", Integer.toUnsignedString(
                    min.getCurrentLimit().getRequestsPerUnit())));
            b.addResponseHeadersToAdd(header("RateLimit-Remaining", Integer.toUnsignedString(min.getLimitRemaining())));
            b.addResponseHeadersToAdd(header("RateLimit-Reset",
                    Long.toString(Durations.toSeconds(min.getDurationUntilReset()))));
        }
        return b.build();
    }

    private static HeaderValue header(String k, String v) {
        return HeaderValue.newBuilder().setKey(k).setValue(v).build();
    }

    /** envoyproxy/ratelimit's cache key: {@code domain_k1_v1_k2_v2_<window start>}. */
    static String cacheKey(String domain, RateLimitDescriptor d, long windowStart) {
        StringBuilder sb = new StringBuilder(domain).append('_');
        for (RateLimitDescriptor.Entry e : d.getEntriesList()) {
            sb.append(e.getKey()).append('_').append(e.getValue()).append('_');
        }
        return sb.append(windowStart).toString();
    }
}
