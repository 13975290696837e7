package io.jmesh.proxy.telemetry.accesslog;

/** Envoy's response flags (provisional; replaced by the telemetry branch). */
public enum ResponseFlag {
    NO_HEALTHY_UPSTREAM("UH"), UPSTREAM_CONNECTION_FAILURE("UF"), NO_ROUTE_FOUND("NR"),
    UPSTREAM_RETRY_LIMIT_EXCEEDED("URX"), NO_CLUSTER_FOUND("NC"), UPSTREAM_REQUEST_TIMEOUT("UT"),
    DOWNSTREAM_CONNECTION_TERMINATION("DC"), UPSTREAM_REMOTE_RESET("UR"), STREAM_IDLE_TIMEOUT("SI");

    private final String code;

    ResponseFlag(String code) {
        this.code = code;
    }

    public String code() {
        return code;
    }
}
