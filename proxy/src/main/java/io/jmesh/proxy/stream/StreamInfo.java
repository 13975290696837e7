package io.jmesh.proxy.stream;

import io.netty.handler.codec.http.HttpHeaders;
import java.net.InetSocketAddress;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * What is known about one request (or TCP connection) when it ends. Mutable and not thread-safe:
 * the connection manager fills it on its event loop, then hands it to {@code AccessLog#log} and no
 * longer touches it. Absent values are {@code null}, or {@code -1} for durations; the formatter prints
 * them as {@code "-"}.
 */
public final class StreamInfo {
    private long startTimeMillis;
    private long startNanos;
    private String method;
    private String path;
    private String originalPath;
    private String protocol;
    private String authority;
    private String userAgent;
    private String forwardedFor;
    private String requestId;
    private HttpHeaders requestHeaders;
    private HttpHeaders responseHeaders;
    private HttpHeaders responseTrailers;
    private int responseCode;
    private String responseCodeDetails;
    private long bytesReceived;
    private long bytesSent;
    private long durationMs = -1;
    private long responseDurationMs = -1;
    private long upstreamServiceTimeMs = -1;
    private String upstreamHost;
    private String upstreamCluster;
    private String routeName;
    private InetSocketAddress downstreamRemoteAddress;
    private InetSocketAddress downstreamLocalAddress;
    private String upstreamTransportFailureReason;
    private String connectionTerminationDetails;
    private final EnumSet<ResponseFlag> responseFlags = EnumSet.noneOf(ResponseFlag.class);
    private ConnectionInfo downstreamConnection;
    private ConnectionInfo upstreamConnection;
    private Map<String, com.google.protobuf.Struct> dynamicMetadata;
    private Map<String, Object> filterState;
    private com.google.protobuf.Struct upstreamHostMetadata;
    private RequestAttributes requestAttributes;

    /** Start of the request (or connection) in epoch milliseconds. */
    public long startTimeMillis() {
        return startTimeMillis;
    }

    /** Sets {@link #startTimeMillis()}. */
    public StreamInfo startTimeMillis(long startTimeMillis) {
        this.startTimeMillis = startTimeMillis;
        return this;
    }

    /** {@link System#nanoTime()} at the start, for durations. */
    public long startNanos() {
        return startNanos;
    }

    /** Sets {@link #startNanos()}. */
    public StreamInfo startNanos(long startNanos) {
        this.startNanos = startNanos;
        return this;
    }

    /** Request method, e.g. {@code GET}; null for TCP. */
    public String method() {
        return method;
    }

    /** Sets {@link #method()}. */
    public StreamInfo method(String method) {
        this.method = method;
        return this;
    }

    /** Request {@code :path} as forwarded upstream. */
    public String path() {
        return path;
    }

    /** Sets {@link #path()}. */
    public StreamInfo path(String path) {
        this.path = path;
        return this;
    }

    /** {@code x-envoy-original-path} (the path before a rewrite), or null. */
    public String originalPath() {
        return originalPath;
    }

    /** Sets {@link #originalPath()}. */
    public StreamInfo originalPath(String originalPath) {
        this.originalPath = originalPath;
        return this;
    }

    /** {@code HTTP/1.0}, {@code HTTP/1.1}, {@code HTTP/2}; null for TCP. */
    public String protocol() {
        return protocol;
    }

    /** Sets {@link #protocol()}. */
    public StreamInfo protocol(String protocol) {
        this.protocol = protocol;
        return this;
    }

    /** Request {@code :authority} / {@code host}. */
    public String authority() {
        return authority;
    }

    /** Sets {@link #authority()}. */
    public StreamInfo authority(String authority) {
        this.authority = authority;
        return this;
    }

    /** {@code user-agent} request header. */
    public String userAgent() {
        return userAgent;
    }

    /** Sets {@link #userAgent()}. */
    public StreamInfo userAgent(String userAgent) {
        this.userAgent = userAgent;
        return this;
    }

    /** {@code x-forwarded-for} request header. */
    public String forwardedFor() {
        return forwardedFor;
    }

    /** Sets {@link #forwardedFor()}. */
    public StreamInfo forwardedFor(String forwardedFor) {
        this.forwardedFor = forwardedFor;
        return this;
    }

    /** {@code x-request-id} request header. */
    public String requestId() {
        return requestId;
    }

    /** Sets {@link #requestId()}. */
    public StreamInfo requestId(String requestId) {
        this.requestId = requestId;
        return this;
    }

    /** All request headers, or null. */
    public HttpHeaders requestHeaders() {
        return requestHeaders;
    }

    /** Sets {@link #requestHeaders()}. */
    public StreamInfo requestHeaders(HttpHeaders requestHeaders) {
        this.requestHeaders = requestHeaders;
        return this;
    }

    /** All response headers, or null. */
    public HttpHeaders responseHeaders() {
        return responseHeaders;
    }

    /** Sets {@link #responseHeaders()}. */
    public StreamInfo responseHeaders(HttpHeaders responseHeaders) {
        this.responseHeaders = responseHeaders;
        return this;
    }

    /** Response trailers, or null. */
    public HttpHeaders responseTrailers() {
        return responseTrailers;
    }

    /** Sets {@link #responseTrailers()}. */
    public StreamInfo responseTrailers(HttpHeaders responseTrailers) {
        this.responseTrailers = responseTrailers;
        return this;
    }

    /** HTTP status sent downstream; 0 when no response was sent. */
    public int responseCode() {
        return responseCode;
    }

    /** Sets {@link #responseCode()}. */
    public StreamInfo responseCode(int responseCode) {
        this.responseCode = responseCode;
        return this;
    }

    /** Envoy's response code details, e.g. {@code via_upstream}, {@code route_not_found}. */
    public String responseCodeDetails() {
        return responseCodeDetails;
    }

    /** Sets {@link #responseCodeDetails()}. */
    public StreamInfo responseCodeDetails(String responseCodeDetails) {
        this.responseCodeDetails = responseCodeDetails;
        return this;
    }

    /** Body bytes received from downstream. */
    public long bytesReceived() {
        return bytesReceived;
    }

    /** Sets {@link #bytesReceived()}. */
    public StreamInfo bytesReceived(long bytesReceived) {
        this.bytesReceived = bytesReceived;
        return this;
    }

    /** Body bytes sent downstream. */
    public long bytesSent() {
        return bytesSent;
    }

    /** Sets {@link #bytesSent()}. */
    public StreamInfo bytesSent(long bytesSent) {
        this.bytesSent = bytesSent;
        return this;
    }

    /** Total duration in milliseconds, or -1 while unknown. */
    public long durationMs() {
        return durationMs;
    }

    /** Sets {@link #durationMs()}. */
    public StreamInfo durationMs(long durationMs) {
        this.durationMs = durationMs;
        return this;
    }

    /** Time from start until the first upstream response byte, or -1. */
    public long responseDurationMs() {
        return responseDurationMs;
    }

    /** Sets {@link #responseDurationMs()}. */
    public StreamInfo responseDurationMs(long responseDurationMs) {
        this.responseDurationMs = responseDurationMs;
        return this;
    }

    /** Upstream service time in milliseconds ({@code x-envoy-upstream-service-time}), or -1. */
    public long upstreamServiceTimeMs() {
        return upstreamServiceTimeMs;
    }

    /** Sets {@link #upstreamServiceTimeMs()}. */
    public StreamInfo upstreamServiceTimeMs(long upstreamServiceTimeMs) {
        this.upstreamServiceTimeMs = upstreamServiceTimeMs;
        return this;
    }

    /** Upstream host as {@code ip:port}, or null. */
    public String upstreamHost() {
        return upstreamHost;
    }

    /** Sets {@link #upstreamHost()}. */
    public StreamInfo upstreamHost(String upstreamHost) {
        this.upstreamHost = upstreamHost;
        return this;
    }

    /** Upstream cluster name, or null. */
    public String upstreamCluster() {
        return upstreamCluster;
    }

    /** Sets {@link #upstreamCluster()}. */
    public StreamInfo upstreamCluster(String upstreamCluster) {
        this.upstreamCluster = upstreamCluster;
        return this;
    }

    /** Name of the matched route, or null. */
    public String routeName() {
        return routeName;
    }

    /** Sets {@link #routeName()}. */
    public StreamInfo routeName(String routeName) {
        this.routeName = routeName;
        return this;
    }

    /** Downstream peer address, or null. */
    public InetSocketAddress downstreamRemoteAddress() {
        return downstreamRemoteAddress;
    }

    /** Sets {@link #downstreamRemoteAddress()}. */
    public StreamInfo downstreamRemoteAddress(InetSocketAddress downstreamRemoteAddress) {
        this.downstreamRemoteAddress = downstreamRemoteAddress;
        return this;
    }

    /** Local address the downstream connected to, or null. */
    public InetSocketAddress downstreamLocalAddress() {
        return downstreamLocalAddress;
    }

    /** Sets {@link #downstreamLocalAddress()}. */
    public StreamInfo downstreamLocalAddress(InetSocketAddress downstreamLocalAddress) {
        this.downstreamLocalAddress = downstreamLocalAddress;
        return this;
    }

    /** Why the upstream connection failed (e.g. a TLS error), or null. */
    public String upstreamTransportFailureReason() {
        return upstreamTransportFailureReason;
    }

    /** Sets {@link #upstreamTransportFailureReason()}. */
    public StreamInfo upstreamTransportFailureReason(String upstreamTransportFailureReason) {
        this.upstreamTransportFailureReason = upstreamTransportFailureReason;
        return this;
    }

    /** Why the proxy terminated the connection, or null. */
    public String connectionTerminationDetails() {
        return connectionTerminationDetails;
    }

    /** Sets {@link #connectionTerminationDetails()}. */
    public StreamInfo connectionTerminationDetails(String connectionTerminationDetails) {
        this.connectionTerminationDetails = connectionTerminationDetails;
        return this;
    }

    /** The response flags set so far; a live, mutable view. */
    public Set<ResponseFlag> responseFlags() {
        return responseFlags;
    }

    /** Adds a response flag. */
    public StreamInfo addResponseFlag(ResponseFlag flag) {
        responseFlags.add(flag);
        return this;
    }

    /**
     * Sets {@link #durationMs()} from {@link #startNanos()} and {@code nowNanos}
     * ({@link System#nanoTime()}).
     */
    public StreamInfo finish(long nowNanos) {
        this.durationMs = (nowNanos - startNanos) / 1_000_000L;
        return this;
    }

    /** The downstream connection, or null when unknown. */
    public ConnectionInfo downstreamConnection() {
        return downstreamConnection;
    }

    public StreamInfo downstreamConnection(ConnectionInfo downstreamConnection) {
        this.downstreamConnection = downstreamConnection;
        return this;
    }

    /** The upstream connection of the last attempt, or null when none was made. */
    public ConnectionInfo upstreamConnection() {
        return upstreamConnection;
    }

    public StreamInfo upstreamConnection(ConnectionInfo upstreamConnection) {
        this.upstreamConnection = upstreamConnection;
        return this;
    }

    /**
     * Envoy's dynamic metadata: one {@code Struct} per filter namespace (e.g. {@code envoy.filters.http.jwt_authn}),
     * read by later filters and by {@code %DYNAMIC_METADATA(ns:key)%}. A live, mutable map.
     */
    public Map<String, com.google.protobuf.Struct> dynamicMetadata() {
        if (dynamicMetadata == null) {
            dynamicMetadata = new LinkedHashMap<>(4);
        }
        return dynamicMetadata;
    }

    /** Merges {@code fields} into the namespace's struct (Envoy's {@code setDynamicMetadata}). */
    public StreamInfo setDynamicMetadata(String namespace, com.google.protobuf.Struct fields) {
        dynamicMetadata().merge(namespace, fields, (a, b) -> a.toBuilder().putAllFields(b.getFieldsMap()).build());
        return this;
    }

    /**
     * Envoy's filter state: objects keyed by name, shared by the filters of one stream and read by
     * {@code %FILTER_STATE(key)%} (printed with {@code toString()}). A live, mutable map.
     */
    public Map<String, Object> filterState() {
        if (filterState == null) {
            filterState = new LinkedHashMap<>(4);
        }
        return filterState;
    }

    /** The chosen upstream host's metadata ({@code %UPSTREAM_METADATA%}), or null. */
    public com.google.protobuf.Struct upstreamHostMetadata() {
        return upstreamHostMetadata;
    }

    public StreamInfo upstreamHostMetadata(com.google.protobuf.Struct upstreamHostMetadata) {
        this.upstreamHostMetadata = upstreamHostMetadata;
        return this;
    }

    /** The request as policy engines see it, or null before the request headers were read. */
    public RequestAttributes requestAttributes() {
        return requestAttributes;
    }

    public StreamInfo requestAttributes(RequestAttributes requestAttributes) {
        this.requestAttributes = requestAttributes;
        return this;
    }
}
