package io.jmesh.proxy.network.http;

import java.net.InetSocketAddress;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;

/**
 * One downstream HTTP/2 stream: the last handler of a child stream channel, after Netty's
 * {@code Http2StreamFrameToHttpObjectCodec}. Holds exactly one {@link ActiveStream}.
 */
final class Http2StreamSink extends ChannelInboundHandlerAdapter implements DownstreamSink {

    private static final Logger logger = LoggerFactory.getLogger(Http2StreamSink.class);

    private final HttpConnectionManagerConfig config;
    private final boolean secure;
    private Channel channel;
    private Channel parent;
    private ActiveStream stream;

    Http2StreamSink(HttpConnectionManagerConfig config, boolean secure) {
        this.config = config;
        this.secure = secure;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        parent = channel instanceof Http2StreamChannel ? channel.parent() : channel;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2ResetFrame) {
            ReferenceCountUtil.release(msg);
            ActiveStream s = stream;
            if (s != null) {
                s.onDownstreamReset();
            }
            return;
        }
        if (!(msg instanceof HttpObject)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpRequest) {
            if (stream != null) {
                ReferenceCountUtil.release(msg);
                return;
            }
            HttpRequest req = (HttpRequest) msg;
            stream = new ActiveStream(config, this);
            if (req instanceof FullHttpRequest) {
                FullHttpRequest full = (FullHttpRequest) req;
                HttpRequest head = new DefaultHttpRequest(full.protocolVersion(), full.method(), full.uri(), full.headers());
                if (!full.content().isReadable() && full.trailingHeaders().isEmpty()) {
                    full.release();
                    stream.onRequestHeaders(head, true);
                } else {
                    stream.onRequestHeaders(head, false);
                    stream.onRequestBody(new DefaultLastHttpContent(full.content(), full.trailingHeaders()));
                }
            } else {
                stream.onRequestHeaders(req, false);
            }
            return;
        }
        ActiveStream s = stream;
        if (s == null) {
            ReferenceCountUtil.release(msg);
            return;
        }
        s.onRequestBody((HttpContent) msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        ActiveStream s = stream;
        if (s != null) {
            s.onReadComplete();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        ActiveStream s = stream;
        if (s != null) {
            s.onDownstreamWritabilityChanged(channel.isWritable());
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        ActiveStream s = stream;
        if (s != null && !s.isFinished()) {
            s.onDownstreamReset();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        logger.debug("{} downstream stream error: {}", ctx.channel(), cause.toString());
        Http2Exception e = Http2CodecUtil.getEmbeddedHttp2Exception(cause);
        if (e != null) {
            // A stream error found by Netty's decoder (DATA that disagrees with content-length, ...): the
            // client gets RST_STREAM with its code, not CANCEL; the upstream request is reset on close.
            ctx.writeAndFlush(new DefaultHttp2ResetFrame(e.error()));
        }
        ctx.close();
    }

    // ------------------------------------------------------------------ DownstreamSink

    @Override
    public void write(HttpObject msg) {
        if (!channel.isActive()) {
            ReferenceCountUtil.release(msg);
            return;
        }
        channel.write(msg, channel.voidPromise());
    }

    @Override
    public void flush() {
        channel.flush();
    }

    @Override
    public boolean isWritable() {
        return channel.isWritable();
    }

    @Override
    public void setReadable(boolean readable) {
        channel.config().setAutoRead(readable);
    }

    @Override
    public void responseComplete(boolean closeConnection) {
        // The stream ends with the response's END_STREAM; a request body still arriving is dropped by
        // the finished ActiveStream.
    }

    @Override
    public void reset() {
        channel.close();
    }

    @Override
    public EventLoop eventLoop() {
        return channel.eventLoop();
    }

    @Override
    public InetSocketAddress remoteAddress() {
        return (InetSocketAddress) parent.remoteAddress();
    }

    @Override
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) parent.localAddress();
    }

    @Override
    public String protocol() {
        return "HTTP/2";
    }

    @Override
    public boolean secure() {
        return secure;
    }

    @Override
    public io.jmesh.proxy.stream.ConnectionInfo connectionInfo() {
        return io.jmesh.proxy.stream.ConnectionInfo.of(parent);
    }
}
