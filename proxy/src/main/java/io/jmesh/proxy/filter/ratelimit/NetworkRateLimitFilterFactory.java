package io.jmesh.proxy.filter.ratelimit;

import java.util.ArrayList;
import java.util.List;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.Durations;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.extensions.filters.network.ratelimit.v3.RateLimit;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.network.FilterStatus;
import io.jmesh.proxy.network.NetworkFilterFactory;
import io.jmesh.proxy.network.NetworkFilterInstaller;
import io.jmesh.proxy.network.ReadFilter;
import io.jmesh.proxy.network.ReadFilterCallbacks;
import io.jmesh.proxy.router.RateLimitPolicy;
import io.jmesh.proxy.telemetry.Counter;
import io.jmesh.proxy.telemetry.Gauge;
import io.netty.buffer.ByteBuf;

/**
 * {@code envoy.filters.network.ratelimit}: on a connection's first bytes the filter asks the rate limit service about
 * its configured {@code descriptors} in {@code domain}, holding the bytes meanwhile (as Envoy does); {@code OVER_LIMIT}
 * closes the connection, {@code OK} lets it go on, an error or the {@code timeout} (default 20 ms) lets it go on unless
 * {@code failure_mode_deny}. Stats {@code ratelimit.<stat_prefix>.total|ok|over_limit|error|failure_mode_allowed|
 * cx_closed} and the gauge {@code active}.
 */
public final class NetworkRateLimitFilterFactory implements NetworkFilterFactory {

    /** Envoy's name. */
    public static final String NAME = "envoy.filters.network.ratelimit";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<String> typeUrls() {
        return List.of("type.googleapis.com/" + RateLimit.getDescriptor().getFullName());
    }

    @Override
    public NetworkFilterInstaller create(Any typedConfig, Context context) throws ConfigException {
        RateLimit c;
        try {
            c = typedConfig.unpack(RateLimit.class);
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException("typed_config: " + typedConfig.getTypeUrl() + " (expected: " + typeUrls().get(0)
                    + ")", e);
        }
        if (c.getStatPrefix().isEmpty()) {
            throw new ConfigException("typed_config.stat_prefix: \"\" (expected: a non-empty prefix)");
        }
        if (c.getDomain().isEmpty()) {
            throw new ConfigException("typed_config.domain: \"\" (expected: a domain)");
        }
        if (c.getDescriptorsCount() == 0) {
            throw new ConfigException("typed_config.descriptors: [] (expected: at least one descriptor)");
        }
        List<List<RateLimitPolicy.Entry>> descriptors = new ArrayList<>();
        for (int i = 0; i < c.getDescriptorsCount(); i++) {
            List<RateLimitPolicy.Entry> d = new ArrayList<>();
            for (int j = 0; j < c.getDescriptors(i).getEntriesCount(); j++) {
                RateLimitDescriptor.Entry e = c.getDescriptors(i).getEntries(j);
                if (e.getKey().isEmpty()) {
                    throw new ConfigException("typed_config.descriptors[" + i + "].entries[" + j
                            + "].key: \"\" (expected: a key)");
                }
                d.add(new RateLimitPolicy.Entry(e.getKey(), e.getValue()));
            }
            if (d.isEmpty()) {
                throw new ConfigException("typed_config.descriptors[" + i + "].entries: [] (expected: an entry)");
            }
            descriptors.add(List.copyOf(d));
        }
        if (!c.hasRateLimitService()) {
            throw new ConfigException("typed_config.rate_limit_service: unset (expected: a rate limit service)");
        }
        RateLimitClient client;
        try {
            client = RateLimitClient.from(c.getRateLimitService(), "rate_limit_service");
        } catch (ConfigException e) {
            throw e.under("typed_config");
        }
        long timeout = c.hasTimeout() ? Durations.toMillis(c.getTimeout()) : RateLimitSettings.DEFAULT_TIMEOUT_MILLIS;
        boolean deny = c.getFailureModeDeny();
        var request = RateLimitClient.request(c.getDomain(), descriptors, 0);
        String p = "ratelimit." + c.getStatPrefix() + '.';
        Counter total = context.stats().counter(p + "total");
        Counter ok = context.stats().counter(p + "ok");
        Counter over = context.stats().counter(p + "over_limit");
        Counter error = context.stats().counter(p + "error");
        Counter allowed = context.stats().counter(p + "failure_mode_allowed");
        Counter closed = context.stats().counter(p + "cx_closed");
        Gauge active = context.stats().gauge(p + "active");
        return m -> m.addReadFilter(new ReadFilter() {
            private ReadFilterCallbacks callbacks;
            private boolean started;
            private boolean done;

            @Override
            public void initializeReadFilterCallbacks(ReadFilterCallbacks callbacks) {
                this.callbacks = callbacks;
            }

            @Override
            public FilterStatus onData(ByteBuf data) {
                if (done) {
                    return FilterStatus.CONTINUE;
                }
                if (started) {
                    return FilterStatus.STOP_ITERATION;
                }
                started = true;
                total.inc();
                active.inc();
                var loop = callbacks.connection().eventLoop();
                RateLimitClient.Call call = client.call(context.clusterManager(), request, timeout,
                        (resp, err) -> loop.execute(() -> complete(resp)));
                callbacks.connection().closeFuture().addListener(f -> {
                    if (!done) {
                        done = true;
                        active.dec();
                        call.cancel();
                    }
                });
                return FilterStatus.STOP_ITERATION;
            }

            private void complete(RateLimitResponse resp) {
                if (done) {
                    return;
                }
                done = true;
                active.dec();
                if (resp != null && resp.getOverallCode() == RateLimitResponse.Code.OK) {
                    ok.inc();
                } else if (resp != null && resp.getOverallCode() == RateLimitResponse.Code.OVER_LIMIT) {
                    over.inc();
                    closed.inc();
                    callbacks.connection().close();
                    return;
                } else {
                    error.inc();
                    if (deny) {
                        closed.inc();
                        callbacks.connection().close();
                        return;
                    }
                    allowed.inc();
                }
                callbacks.continueReading();
            }
        });
    }
}
