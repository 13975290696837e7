package io.jmesh.proxy.router;

import java.util.Arrays;
import java.util.concurrent.ThreadLocalRandom;

import com.google.protobuf.Duration;

import io.jmesh.proxy.config.ConfigException;

/**
 * A route's retry policy, compiled from Envoy's {@code envoy.config.route.v3.RetryPolicy}.
 * Immutable and thread-safe.
 *
 * <p>{@code retry_on} is a comma-separated list of Envoy's conditions (see
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/router_filter#x-envoy-retry-on
 * and {@code #x-envoy-retry-grpc-on}); an unknown condition is a config error. {@code
 * num_retries} defaults to 1. Back-off is Envoy's fully jittered exponential back-off: retry
 * {@code N} waits a random time in {@code [0, (2^N - 1) * base_interval)}, capped at {@code
 * max_interval} (defaults 25 ms and 10 x base).
 */
public final class RetryPolicy {

    /** No retries: {@link #numRetries()} is 0 and nothing is retriable. */
    public static final RetryPolicy NONE = new RetryPolicy(0, 0, 0, new int[0], 25, 250);

    private static final int R_5XX = 1;
    private static final int R_GATEWAY_ERROR = 1 << 1;
    private static final int R_CONNECT_FAILURE = 1 << 2;
    private static final int R_RESET = 1 << 3;
    private static final int R_RETRIABLE_4XX = 1 << 4;
    private static final int R_REFUSED_STREAM = 1 << 5;
    private static final int R_RETRIABLE_STATUS_CODES = 1 << 6;
    private static final int R_OTHER = 1 << 7;

    private final int numRetries;
    private final long perTryTimeoutMillis;
    private final int retryOn;
    private final int[] retriableStatusCodes; // sorted
    private final long baseIntervalMillis;
    private final long maxIntervalMillis;

    private RetryPolicy(int numRetries, long perTryTimeoutMillis, int retryOn, int[] retriableStatusCodes,
                        long baseIntervalMillis, long maxIntervalMillis) {
        this.numRetries = numRetries;
        this.perTryTimeoutMillis = perTryTimeoutMillis;
        this.retryOn = retryOn;
        this.retriableStatusCodes = retriableStatusCodes;
        this.baseIntervalMillis = baseIntervalMillis;
        this.maxIntervalMillis = maxIntervalMillis;
    }

    /**
     * Compiles {@code proto}. Error messages are relative to the policy, e.g. {@code retry_on: foo
     * (expected: ...)}; prefix them with {@link ConfigException#under(String)}.
     */
    public static RetryPolicy from(io.envoyproxy.envoy.config.route.v3.RetryPolicy proto) throws ConfigException {
        int on = 0;
        for (String token : proto.getRetryOn().split(",")) {
            final String t = token.trim();
            switch (t) {
                case "":
                    break;
                case "5xx":
                    on |= R_5XX;
                    break;
                case "gateway-error":
                    on |= R_GATEWAY_ERROR;
                    break;
                case "connect-failure":
                    on |= R_CONNECT_FAILURE;
                    break;
                case "reset":
                    on |= R_RESET;
                    break;
                case "retriable-4xx":
                    on |= R_RETRIABLE_4XX;
                    break;
                case "refused-stream":
                    on |= R_REFUSED_STREAM;
                    break;
                case "retriable-status-codes":
                    on |= R_RETRIABLE_STATUS_CODES;
                    break;
                case "reset-before-request":
                case "envoy-ratelimited":
                case "retriable-headers":
                case "http3-post-connect-failure":
                case "cancelled":
                case "deadline-exceeded":
                case "internal":
                case "resource-exhausted":
                case "unavailable":
                    on |= R_OTHER; // Known to Envoy; judged by the caller, not by this class.
                    break;
                default:
                    throw new ConfigException("retry_on: " + proto.getRetryOn()
                                              + " (expected: a comma-separated list of Envoy retry conditions,"
                                              + " unknown: " + t + ')');
            }
        }
        final int numRetries = proto.hasNumRetries() ? proto.getNumRetries().getValue() : 1;
        if (numRetries < 0) {
            throw new ConfigException("num_retries: " + Integer.toUnsignedString(numRetries)
                                      + " (expected: <= " + Integer.MAX_VALUE + ')');
        }
        final long perTry = proto.hasPerTryTimeout() ? millis(proto.getPerTryTimeout(), "per_try_timeout") : 0;
        final int[] codes = new int[proto.getRetriableStatusCodesCount()];
        for (int i = 0; i < codes.length; i++) {
            final int c = proto.getRetriableStatusCodes(i);
            if (c < 100 || c > 599) {
                throw new ConfigException("retriable_status_codes[" + i + "]: " + Integer.toUnsignedString(c)
                                          + " (expected: an HTTP status in [100, 599])");
            }
            codes[i] = c;
        }
        Arrays.sort(codes);
        long base = 25;
        long max = 250;
        if (proto.hasRetryBackOff()) {
            final var b = proto.getRetryBackOff();
            if (!b.hasBaseInterval()) {
                throw new ConfigException("retry_back_off.base_interval: null (expected: > 0)");
            }
            base = millis(b.getBaseInterval(), "retry_back_off.base_interval");
            if (base <= 0) {
                throw new ConfigException("retry_back_off.base_interval: " + base + "ms (expected: >= 1ms)");
            }
            max = base * 10;
            if (b.hasMaxInterval()) {
                max = millis(b.getMaxInterval(), "retry_back_off.max_interval");
                if (max < base) {
                    throw new ConfigException("retry_back_off.max_interval: " + max
                                              + "ms (expected: >= base_interval " + base + "ms)");
                }
            }
        }
        return new RetryPolicy(numRetries, perTry, on, codes, base, max);
    }

    static long millis(Duration d, String path) throws ConfigException {
        if (d.getSeconds() < 0 || d.getNanos() < 0) {
            throw new ConfigException(path + ": " + d.getSeconds() + "s" + d.getNanos() + "ns (expected: >= 0)");
        }
        if (d.getSeconds() > Long.MAX_VALUE / 1000 - 1) {
            return Long.MAX_VALUE;
        }
        return d.getSeconds() * 1000 + d.getNanos() / 1_000_000;
    }

    /** The maximum number of retries (not counting the first attempt). */
    public int numRetries() {
        return numRetries;
    }

    /** The timeout of each attempt in milliseconds; 0 means none (the route timeout still applies). */
    public long perTryTimeoutMillis() {
        return perTryTimeoutMillis;
    }

    public boolean retryOn5xx() {
        return (retryOn & R_5XX) != 0;
    }

    public boolean retryOnGatewayError() {
        return (retryOn & R_GATEWAY_ERROR) != 0;
    }

    public boolean retryOnConnectFailure() {
        return (retryOn & R_CONNECT_FAILURE) != 0;
    }

    public boolean retryOnReset() {
        return (retryOn & R_RESET) != 0;
    }

    public boolean retryOnRetriable4xx() {
        return (retryOn & R_RETRIABLE_4XX) != 0;
    }

    public boolean retryOnRefusedStream() {
        return (retryOn & R_REFUSED_STREAM) != 0;
    }

    /**
     * Returns whether a response with this status may be retried: any 5xx under {@code 5xx}; 502,
     * 503 and 504 under {@code gateway-error}; 409 under {@code retriable-4xx}; and, as in Envoy,
     * {@code retriable_status_codes} only when {@code retry_on} contains {@code
     * retriable-status-codes}.
     */
    public boolean retriableStatus(int status) {
        if (retryOn5xx() && status >= 500 && status <= 599) {
            return true;
        }
        if (retryOnGatewayError() && (status == 502 || status == 503 || status == 504)) {
            return true;
        }
        if (retryOnRetriable4xx() && status == 409) {
            return true;
        }
        return (retryOn & R_RETRIABLE_STATUS_CODES) != 0 && Arrays.binarySearch(retriableStatusCodes, status) >= 0;
    }

    /**
     * Returns a random back-off in milliseconds before the given 1-based retry: uniformly in
     * {@code [0, min((2^N - 1) * base_interval, max_interval))}. Thread-safe.
     */
    public long backoffMillis(int retryNumber) {
        if (retryNumber < 1) {
            throw new IllegalArgumentException("retryNumber: " + retryNumber + " (expected: >= 1)");
        }
        final long ceiling;
        if (retryNumber >= 62) {
            ceiling = maxIntervalMillis;
        } else {
            final long factor = (1L << retryNumber) - 1;
            ceiling = factor > maxIntervalMillis / baseIntervalMillis ? maxIntervalMillis
                                                                        : Math.min(factor * baseIntervalMillis,
                                                                                   maxIntervalMillis);
        }
        return ceiling <= 0 ? 0 : ThreadLocalRandom.current().nextLong(ceiling);
    }

    /** {@code retry_back_off.base_interval} in milliseconds (25 by default). */
    long baseIntervalMillis() {
        return baseIntervalMillis;
    }

    /** {@code retry_back_off.max_interval} in milliseconds (10 x base by default). */
    long maxIntervalMillis() {
        return maxIntervalMillis;
    }

    @Override
    public String toString() {
        return "RetryPolicy{numRetries=" + numRetries + ", perTryTimeoutMillis=" + perTryTimeoutMillis
               + ", retryOn=0x" + Integer.toHexString(retryOn) + ", retriableStatusCodes="
               + Arrays.toString(retriableStatusCodes) + ", backoff=" + baseIntervalMillis + '/'
               + maxIntervalMillis + "ms}";
    }
}
