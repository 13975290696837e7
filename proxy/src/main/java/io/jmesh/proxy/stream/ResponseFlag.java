package io.jmesh.proxy.stream;

/**
 * Envoy's response flags, in the order Envoy prints them in {@code %RESPONSE_FLAGS%} (joined with
 * {@code ","}). See <a href="https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage#config-access-log-format-response-flags">
 * Envoy access log response flags</a>.
 */
public enum ResponseFlag {
    /** Local service failed health check request in addition to 503 response code. */
    FAILED_LOCAL_HEALTH_CHECK("LH"),
    /** No healthy upstream hosts in upstream cluster in addition to 503 response code. */
    NO_HEALTHY_UPSTREAM("UH"),
    /** Upstream request timeout in addition to 504 response code. */
    UPSTREAM_REQUEST_TIMEOUT("UT"),
    /** Connection local reset in addition to 503 response code. */
    LOCAL_RESET("LR"),
    /** Remote reset in addition to 503 response code. */
    UPSTREAM_REMOTE_RESET("UR"),
    /** Local upstream connection failure in addition to 503 response code. */
    UPSTREAM_CONNECTION_FAILURE("UF"),
    /** Upstream connection termination in addition to 503 response code. */
    UPSTREAM_CONNECTION_TERMINATION("UC"),
    /** Upstream overflow (circuit breaking) in addition to 503 response code. */
    UPSTREAM_OVERFLOW("UO"),
    /** No route configured for a given request in addition to 404 response code. */
    NO_ROUTE_FOUND("NR"),
    /** The request processing was delayed for a period specified via fault injection. */
    DELAY_INJECTED("DI"),
    /** The request was aborted with a response code specified via fault injection. */
    FAULT_INJECTED("FI"),
    /** The request was rate-limited locally in addition to 429 response code. */
    RATE_LIMITED("RL"),
    /** The request was denied by the external authorization service. */
    UNAUTHORIZED_EXTERNAL_SERVICE("UAEX"),
    /** The request was rejected because there was an error in the rate limit service. */
    RATE_LIMIT_SERVICE_ERROR("RLSE"),
    /** Downstream connection termination. */
    DOWNSTREAM_CONNECTION_TERMINATION("DC"),
    /** Upstream retry limit exceeded. */
    UPSTREAM_RETRY_LIMIT_EXCEEDED("URX"),
    /** Stream idle timeout in addition to 408 or 504 response code. */
    STREAM_IDLE_TIMEOUT("SI"),
    /** The request was rejected because it set an invalid value for a strictly-checked x-envoy-* header. */
    INVALID_ENVOY_REQUEST_HEADERS("IH"),
    /** The request was terminated because of a downstream HTTP protocol error. */
    DOWNSTREAM_PROTOCOL_ERROR("DPE"),
    /** The upstream request reached the maximum stream duration. */
    UPSTREAM_MAX_STREAM_DURATION_REACHED("UMSDR"),
    /** The response was served from a cache filter. */
    RESPONSE_FROM_CACHE_FILTER("RFCF"),
    /** The request was terminated because a filter configuration was not received in time. */
    NO_FILTER_CONFIG_FOUND("NFCF"),
    /** The max connection or stream duration was reached. */
    DURATION_TIMEOUT("DT"),
    /** The request was terminated because of an upstream HTTP protocol error. */
    UPSTREAM_PROTOCOL_ERROR("UPE"),
    /** No cluster was found for the route's cluster name. */
    NO_CLUSTER_FOUND("NC"),
    /** Overload manager terminated the request. */
    OVERLOAD_MANAGER("OM"),
    /** The request was terminated because DNS resolution failed. */
    DNS_RESOLUTION_FAILED("DF"),
    /** The request was terminated by drop_overloads of the load assignment. */
    DROP_OVERLOAD("DO"),
    /** The response was reset by the downstream. */
    DOWNSTREAM_REMOTE_RESET("DR"),
    /** The request was dropped by an unconditional drop_overload (100%). */
    UNCONDITIONAL_DROP_OVERLOAD("UDO");

    private final String code;

    ResponseFlag(String code) {
        this.code = code;
    }

    /** Envoy's short code, e.g. {@code "UH"}. */
    public String code() {
        return code;
    }

    /**
     * The short codes of {@code flags} joined with {@code ","} in their order (Envoy's
     * {@code ResponseFlagUtils::toShortString}); {@code "-"} when there are none (or {@code flags} is null).
     */
    public static String toShortString(java.util.Set<ResponseFlag> flags) {
        if (flags == null || flags.isEmpty()) {
            return "-";
        }
        StringBuilder sb = new StringBuilder();
        for (ResponseFlag f : flags) {
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(f.code);
        }
        return sb.toString();
    }

    /** The flag whose short code is {@code code}, or null. */
    public static ResponseFlag ofCode(String code) {
        for (ResponseFlag f : values()) {
            if (f.code.equals(code)) {
                return f;
            }
        }
        return null;
    }
}
