package io.jmesh.proxy.upstream.pool;

/** Why an upstream stream or connection attempt ended before a complete response (Envoy's reset reasons). */
public enum ResetReason {
    /** The TCP (or TLS) connection could not be established. */
    CONNECTION_FAILURE("connection failure"),
    /** The connect timeout fired. */
    CONNECT_TIMEOUT("connection timeout"),
    /** The connection closed while the stream was active. */
    CONNECTION_TERMINATION("connection termination"),
    /** The peer reset the stream (HTTP/2 RST_STREAM). */
    REMOTE_RESET("remote reset"),
    /** The peer refused the stream (HTTP/2 REFUSED_STREAM or GOAWAY before processing). */
    REMOTE_REFUSED_STREAM_RESET("remote refused stream reset"),
    /** A circuit breaker or pool limit refused the request. */
    OVERFLOW("overflow"),
    /** The request or response broke the protocol (a field that cannot be encoded, a malformed response). */
    PROTOCOL_ERROR("protocol error"),
    /** The stream was reset by this proxy. */
    LOCAL_RESET("local reset");

    private final String text;

    ResetReason(String text) {
        this.text = text;
    }

    /** The text Envoy puts in local replies ("reset reason: connection failure"). */
    public String text() {
        return text;
    }
}
