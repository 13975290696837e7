package io.jmesh.proxy.telemetry.accesslog;

import java.net.InetSocketAddress;
import java.util.EnumSet;

import io.netty.handler.codec.http.HttpHeaders;

/** Provisional; replaced by the telemetry branch. */
public final class AccessLogEntry {
    public long startTimeMillis;
    public long durationNanos;
    public HttpHeaders requestHeaders;
    public String method;
    public String path;
    public String authority;
    public String protocol;
    public int responseCode;
    public String responseCodeDetails;
    public EnumSet<ResponseFlag> responseFlags;
    public HttpHeaders responseHeaders;
    public HttpHeaders responseTrailers;
    public long bytesReceived;
    public long bytesSent;
    public long upstreamServiceTimeMs;
    public String upstreamHost;
    public String upstreamCluster;
    public String routeName;
    public InetSocketAddress downstreamRemoteAddress;
    public InetSocketAddress downstreamLocalAddress;
    public String upstreamTransportFailureReason;
}
