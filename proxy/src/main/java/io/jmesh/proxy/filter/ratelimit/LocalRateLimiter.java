package io.jmesh.proxy.filter.ratelimit;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.LongSupplier;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.LocalRateLimitDescriptor;
import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.router.RateLimitPolicy;

/**
 * The token buckets of one local rate limit (Envoy's {@code LocalRateLimiterImpl}): an optional default bucket
 * ({@code token_bucket}) and one bucket per configured descriptor ({@code descriptors}). A request's descriptors
 * (made by the route's {@code rate_limits} actions) pick the descriptor buckets whose entries equal theirs; the
 * matched buckets are tried from the slowest fill rate up, and the first one without a token limits the request.
 * The default bucket is then tried too when {@code always_consume_default_token_bucket} (default true) or when no
 * descriptor matched. Thread-safe; shared by every event loop unless the filter asks for one per connection.
 */
public final class LocalRateLimiter {

    /** What a check decided, and which bucket the {@code x-ratelimit-*} headers describe (null for none). */
    public record Result(boolean allowed, TokenBucket bucket) {}

    private record DescriptorBucket(List<RateLimitPolicy.Entry> entries, TokenBucket bucket) {}

    private final TokenBucket defaultBucket;
    private final List<DescriptorBucket> descriptors;
    private final boolean alwaysConsumeDefault;

    private LocalRateLimiter(TokenBucket defaultBucket, List<DescriptorBucket> descriptors,
                             boolean alwaysConsumeDefault) {
        this.defaultBucket = defaultBucket;
        this.descriptors = descriptors;
        this.alwaysConsumeDefault = alwaysConsumeDefault;
    }

    /**
     * Validates a limiter; {@code defaultBucket} may be null (then only descriptors limit). {@code path} prefixes the
     * field names in errors ({@code ""} at the top of a typed_config).
     */
    public static LocalRateLimiter create(io.envoyproxy.envoy.type.v3.TokenBucket defaultBucket,
                                          List<LocalRateLimitDescriptor> descriptors, boolean alwaysConsumeDefault,
                                          String path, LongSupplier nanoClock) throws ConfigException {
        TokenBucket d = defaultBucket == null ? null : TokenBucket.from(defaultBucket, path + "token_bucket", nanoClock);
        List<DescriptorBucket> out = new ArrayList<>();
        for (int i = 0; i < descriptors.size(); i++) {
            LocalRateLimitDescriptor ld = descriptors.get(i);
            String dp = path + "descriptors[" + i + ']';
            if (ld.getEntriesCount() == 0) {
                throw new ConfigException(dp + ".entries: [] (expected: at least one entry)");
            }
            List<RateLimitPolicy.Entry> entries = new ArrayList<>();
            for (int j = 0; j < ld.getEntriesCount(); j++) {
                RateLimitDescriptor.Entry e = ld.getEntries(j);
                String ep = dp + ".entries[" + j + ']';
                if (e.getKey().isEmpty()) {
                    throw new ConfigException(ep + ".key: \"\" (expected: a key)");
                }
                if (e.getValue().isEmpty()) {
                    throw new ConfigException(ep + ".value: \"\" (expected: a value; wildcard descriptors are not"
                            + " supported)");
                }
                entries.add(new RateLimitPolicy.Entry(e.getKey(), e.getValue()));
            }
            if (!ld.hasTokenBucket()) {
                throw new ConfigException(dp + ".token_bucket: unset (expected: a token bucket)");
            }
            for (DescriptorBucket prev : out) {
                if (prev.entries.equals(entries)) {
                    throw new ConfigException(dp + ".entries: " + entries + " (expected: unique descriptors)");
                }
            }
            out.add(new DescriptorBucket(List.copyOf(entries),
                    TokenBucket.from(ld.getTokenBucket(), dp + ".token_bucket", nanoClock)));
        }
        out.sort(Comparator.comparingDouble(b -> b.bucket.fillRate()));
        return new LocalRateLimiter(d, List.copyOf(out), alwaysConsumeDefault);
    }

    /** Whether there are descriptor buckets (only then are the request's descriptors worth computing). */
    public boolean hasDescriptors() {
        return !descriptors.isEmpty();
    }

    /** A limiter with the same settings and full buckets of its own (one per downstream connection). */
    public LocalRateLimiter copy() {
        List<DescriptorBucket> d = new ArrayList<>(descriptors.size());
        for (DescriptorBucket b : descriptors) {
            d.add(new DescriptorBucket(b.entries, b.bucket.copy()));
        }
        return new LocalRateLimiter(defaultBucket == null ? null : defaultBucket.copy(), List.copyOf(d),
                alwaysConsumeDefault);
    }

    /** Takes a token for a request with {@code requestDescriptors} (may be empty). */
    public Result check(List<List<RateLimitPolicy.Entry>> requestDescriptors) {
        TokenBucket first = null;
        boolean matched = false;
        if (!requestDescriptors.isEmpty()) {
            for (DescriptorBucket b : descriptors) {
                if (!requestDescriptors.contains(b.entries)) {
                    continue;
                }
                matched = true;
                if (first == null) {
                    first = b.bucket;
                }
                if (!b.bucket.tryConsume()) {
                    return new Result(false, b.bucket);
                }
            }
        }
        if (defaultBucket != null && (alwaysConsumeDefault || !matched)) {
            if (!defaultBucket.tryConsume()) {
                return new Result(false, defaultBucket);
            }
            if (first == null) {
                first = defaultBucket;
            }
        }
        return new Result(true, first);
    }
}
