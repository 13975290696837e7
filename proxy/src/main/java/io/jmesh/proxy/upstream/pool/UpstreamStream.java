package io.jmesh.proxy.upstream.pool;

import io.jmesh.proxy.upstream.Host;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpObject;

/**
 * One request's stream on an upstream connection: the whole connection for HTTP/1.1, a child stream
 * channel for HTTP/2. Used only on its event loop, which is the downstream connection's event loop.
 */
public abstract class UpstreamStream {

    final Channel channel;
    final Host host;
    UpstreamStreamListener listener;
    boolean done;

    UpstreamStream(Channel channel, Host host, UpstreamStreamListener listener) {
        this.channel = channel;
        this.host = host;
        this.listener = listener;
    }

    public Host host() {
        return host;
    }

    public Channel channel() {
        return channel;
    }

    /** Whether this stream speaks HTTP/2 to the upstream. */
    public abstract boolean http2();

    /** Writes a request object (ownership passes to the stream). */
    public void write(HttpObject msg) {
        channel.write(msg, channel.voidPromise());
    }

    public void flush() {
        channel.flush();
    }

    public boolean isWritable() {
        return channel.isWritable();
    }

    public void setAutoRead(boolean autoRead) {
        channel.config().setAutoRead(autoRead);
    }

    /** Aborts the stream: HTTP/1.1 closes the connection, HTTP/2 resets the stream. No more callbacks follow. */
    public abstract void reset();

    /** Called by the owner once the complete response was received; an HTTP/1.1 connection may return to its pool. */
    public abstract void complete();

    void fireResponse(HttpObject msg) {
        UpstreamStreamListener l = listener;
        if (l == null || done) {
            io.netty.util.ReferenceCountUtil.release(msg);
            return;
        }
        l.onResponse(msg);
    }

    void fireFailure(ResetReason reason, String detail) {
        UpstreamStreamListener l = listener;
        if (l == null || done) {
            return;
        }
        done = true;
        listener = null;
        l.onStreamFailure(reason, detail);
    }

    void fireReadComplete() {
        UpstreamStreamListener l = listener;
        if (l != null && !done) {
            l.onReadComplete();
        }
    }

    void fireWritability() {
        UpstreamStreamListener l = listener;
        if (l != null && !done) {
            l.onWritabilityChanged(isWritable());
        }
    }
}
