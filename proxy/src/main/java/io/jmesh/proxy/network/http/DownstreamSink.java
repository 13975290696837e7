package io.jmesh.proxy.network.http;

import java.net.InetSocketAddress;

import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpObject;

/**
 * Where an {@link ActiveStream} sends its response: the HTTP/1.1 connection (which keeps pipelined
 * responses in order) or one HTTP/2 stream channel. Used only on the stream's event loop.
 */
interface DownstreamSink {

    /** Writes a response object; ownership passes to the sink. */
    void write(HttpObject msg);

    void flush();

    boolean isWritable();

    /** Stops or resumes reading the request (back-pressure towards the client). */
    void setReadable(boolean readable);

    /** The response is complete; the sink may go on (next pipelined request, or stream end). */
    void responseComplete(boolean closeConnection);

    /** Abandons the stream after part of a response was sent: closes the HTTP/1.1 connection or resets the HTTP/2 stream. */
    void reset();

    /** HTTP/1.1 only: the upstream agreed to an Upgrade (101); from now on bytes pass through untouched. */
    default boolean upgrade(io.jmesh.proxy.upstream.pool.UpstreamStream upstream) {
        return false;
    }

    EventLoop eventLoop();

    InetSocketAddress remoteAddress();

    InetSocketAddress localAddress();

    /** "HTTP/1.1", "HTTP/1.0" or "HTTP/2". */
    String protocol();

    boolean secure();

    /** The downstream connection's {@link io.jmesh.proxy.stream.ConnectionInfo} (of the TCP connection). */
    io.jmesh.proxy.stream.ConnectionInfo connectionInfo();
}
