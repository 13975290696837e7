package io.jmesh.proxy.filter.ratelimit;

import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

import com.google.protobuf.util.Durations;

import io.jmesh.proxy.config.ConfigException;

/**
 * Envoy's {@code type.v3.TokenBucket} as its local rate limits use it: the bucket starts full with
 * {@code max_tokens}; every {@code fill_interval} it gains {@code tokens_per_fill} tokens (default 1), never more
 * than {@code max_tokens}; a request takes one token or is limited. Fills happen at fixed interval boundaries
 * counted from the bucket's creation (Envoy's fill timer), computed lazily from the clock when the bucket is used,
 * so no timer runs. One bucket is shared by every event loop (Envoy's shared bucket): lock-free, one CAS per
 * request. The clock is injectable (nanoseconds, monotonic) for tests.
 */
public final class TokenBucket {

    /** Envoy refuses fill intervals under 50 ms for local rate limits. */
    public static final long MIN_FILL_INTERVAL_MILLIS = 50;

    private record State(long tokens, long fills) {}

    private final long maxTokens;
    private final long tokensPerFill;
    private final long fillIntervalNanos;
    private final LongSupplier nanoClock;
    private final long start;
    private final AtomicReference<State> state;

    /** A full bucket. */
    public TokenBucket(long maxTokens, long tokensPerFill, long fillIntervalNanos, LongSupplier nanoClock) {
        this.maxTokens = maxTokens;
        this.tokensPerFill = tokensPerFill;
        this.fillIntervalNanos = fillIntervalNanos;
        this.nanoClock = nanoClock;
        this.start = nanoClock.getAsLong();
        this.state = new AtomicReference<>(new State(maxTokens, 0));
    }

    /** Validates {@code proto}; {@code path} names it in errors. */
    public static TokenBucket from(io.envoyproxy.envoy.type.v3.TokenBucket proto, String path, LongSupplier nanoClock)
            throws ConfigException {
        if (proto.getMaxTokens() <= 0) {
            throw new ConfigException(path + ".max_tokens: " + Integer.toUnsignedString(proto.getMaxTokens())
                    + " (expected: > 0)");
        }
        long perFill = proto.hasTokensPerFill() ? Integer.toUnsignedLong(proto.getTokensPerFill().getValue()) : 1;
        if (perFill <= 0) {
            throw new ConfigException(path + ".tokens_per_fill: " + perFill + " (expected: > 0)");
        }
        long interval = proto.hasFillInterval() ? Durations.toNanos(proto.getFillInterval()) : 0;
        if (interval < MIN_FILL_INTERVAL_MILLIS * 1_000_000L) {
            throw new ConfigException(path + ".fill_interval: "
                    + (proto.hasFillInterval() ? Durations.toString(proto.getFillInterval()) : "unset")
                    + " (expected: >= 0.050s)");
        }
        return new TokenBucket(Integer.toUnsignedLong(proto.getMaxTokens()), perFill, interval, nanoClock);
    }

    /** A new, full bucket with this one's settings (per-connection buckets). */
    public TokenBucket copy() {
        return new TokenBucket(maxTokens, tokensPerFill, fillIntervalNanos, nanoClock);
    }

    private long fillsNow() {
        return Math.max(0, (nanoClock.getAsLong() - start) / fillIntervalNanos);
    }

    private State current(State s, long fills) {
        if (fills <= s.fills) {
            return s;
        }
        long gained = fills - s.fills;
        long tokens = gained >= maxTokens ? maxTokens : Math.min(maxTokens, s.tokens + gained * tokensPerFill);
        return new State(tokens, fills);
    }

    /** Takes one token; false (nothing taken) when the bucket is empty. Thread-safe. */
    public boolean tryConsume() {
        long fills = fillsNow();
        while (true) {
            State s = state.get();
            State now = current(s, fills);
            if (now.tokens <= 0) {
                if (now != s) {
                    state.compareAndSet(s, now);
                }
                return false;
            }
            if (state.compareAndSet(s, new State(now.tokens - 1, now.fills))) {
                return true;
            }
        }
    }

    /** The tokens left now. */
    public long remaining() {
        return current(state.get(), fillsNow()).tokens;
    }

    /** {@code max_tokens}. */
    public long maxTokens() {
        return maxTokens;
    }

    /** {@code tokens_per_fill} per {@code fill_interval}, as tokens per second (orders descriptor buckets). */
    public double fillRate() {
        return tokensPerFill * 1e9 / fillIntervalNanos;
    }

    /** Whole seconds until the next fill, rounded up ({@code x-ratelimit-reset}). */
    public long secondsUntilFill() {
        long elapsed = nanoClock.getAsLong() - start;
        long left = fillIntervalNanos - Math.floorMod(elapsed, fillIntervalNanos);
        return (left + 999_999_999L) / 1_000_000_000L;
    }

    /** {@code fill_interval} in seconds, rounded up (the window that {@code x-ratelimit-limit} names). */
    public long fillIntervalSeconds() {
        return (fillIntervalNanos + 999_999_999L) / 1_000_000_000L;
    }
}
