package io.jmesh.proxy.filter.ratelimit;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;

import io.envoyproxy.envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.network.FilterStatus;
import io.jmesh.proxy.network.NetworkFilterFactory;
import io.jmesh.proxy.network.NetworkFilterInstaller;
import io.jmesh.proxy.network.ReadFilter;
import io.jmesh.proxy.network.ReadFilterCallbacks;
import io.jmesh.proxy.telemetry.Counter;
import io.netty.buffer.ByteBuf;

/**
 * {@code envoy.filters.network.local_ratelimit}: each new connection takes a token from the chain's bucket
 * ({@code token_bucket}); a connection that finds none is closed at once, before the next filter (tcp_proxy, the HTTP
 * connection manager, rpc_proxy) sees it, and counted in {@code local_ratelimit.<stat_prefix>.rate_limited}. Filters
 * with the same {@code share_key} share one bucket (across listeners and config updates), as in Envoy.
 * {@code runtime_enabled} takes its {@code default_value} (jmesh has no runtime).
 */
public final class NetworkLocalRateLimitFilterFactory implements NetworkFilterFactory {

    /** Envoy's name. */
    public static final String NAME = "envoy.filters.network.local_ratelimit";

    private static final Map<String, TokenBucket> SHARED = new ConcurrentHashMap<>();

    private final LongSupplier nanoClock;

    public NetworkLocalRateLimitFilterFactory() {
        this(System::nanoTime);
    }

    /** Buckets on {@code nanoClock} (tests). */
    public NetworkLocalRateLimitFilterFactory(LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public List<String> typeUrls() {
        return List.of("type.googleapis.com/" + LocalRateLimit.getDescriptor().getFullName());
    }

    @Override
    public NetworkFilterInstaller create(Any typedConfig, Context context) throws ConfigException {
        LocalRateLimit c;
        try {
            c = typedConfig.unpack(LocalRateLimit.class);
        } catch (InvalidProtocolBufferException e) {
            throw new ConfigException("typed_config: " + typedConfig.getTypeUrl() + " (expected: " + typeUrls().get(0)
                    + ")", e);
        }
        if (c.getStatPrefix().isEmpty()) {
            throw new ConfigException("typed_config.stat_prefix: \"\" (expected: a non-empty prefix)");
        }
        if (!c.hasTokenBucket()) {
            throw new ConfigException("typed_config.token_bucket: unset (expected: a token bucket)");
        }
        TokenBucket fresh = TokenBucket.from(c.getTokenBucket(), "typed_config.token_bucket", nanoClock);
        TokenBucket bucket = c.getShareKey().isEmpty() ? fresh
                : SHARED.computeIfAbsent(c.getShareKey() + '|' + c.getTokenBucket().toByteString().toStringUtf8(),
                        k -> fresh);
        boolean enabled = !c.hasRuntimeEnabled() || c.getRuntimeEnabled().getDefaultValue().getValue();
        if (!enabled) {
            return m -> {};
        }
        Counter limited = context.stats().counter("local_ratelimit." + c.getStatPrefix() + ".rate_limited");
        return m -> m.addReadFilter(new ReadFilter() {
            private ReadFilterCallbacks callbacks;

            @Override
            public void initializeReadFilterCallbacks(ReadFilterCallbacks callbacks) {
                this.callbacks = callbacks;
            }

            @Override
            public FilterStatus onNewConnection() {
                if (bucket.tryConsume()) {
                    return FilterStatus.CONTINUE;
                }
                limited.inc();
                callbacks.connection().close();
                return FilterStatus.STOP_ITERATION;
            }

            @Override
            public FilterStatus onData(ByteBuf data) {
                return FilterStatus.CONTINUE;
            }
        });
    }
}
