package io.jmesh.proxy.testing;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.CharsetUtil;
import io.netty.util.ReferenceCountUtil;

/**
 * A frame-level HTTP/2 (h2c prior knowledge) client on Netty that sends what curl refuses to: header values
 * with CR LF, uppercase or connection-specific names, DATA that disagrees with {@code content-length}, rapid
 * resets. Headers are built unvalidated ({@link #headers()}). Each stream records what it received as text
 * events: {@code headers:<status>}, {@code data:<text>}, {@code reset:<code>}, {@code closed}; the connection
 * records {@code goaway:<code>}.
 */
public final class H2FrameClient implements AutoCloseable {

    private final EventLoopGroup group = new NioEventLoopGroup(1);
    private final Channel connection;
    /** Connection-level events ({@code goaway:<code>}, {@code closed}). */
    public final BlockingQueue<String> connectionEvents = new LinkedBlockingQueue<>();
    /** The debug data of the last GOAWAY received. */
    public volatile String goAwayDebugData;

    public H2FrameClient(int port) throws InterruptedException {
        connection = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().validateHeaders(false)
                                .autoAckSettingsFrame(true).build());
                        ch.pipeline().addLast(new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                if (msg instanceof Http2GoAwayFrame) {
                                    Http2GoAwayFrame g = (Http2GoAwayFrame) msg;
                                    connectionEvents.add("goaway:" + g.errorCode());
                                    goAwayDebugData = g.content().toString(CharsetUtil.UTF_8);
                                }
                                ReferenceCountUtil.release(msg);
                            }

                            @Override
                            public void channelInactive(ChannelHandlerContext ctx) {
                                connectionEvents.add("closed");
                            }
                        });
                    }
                }).connect("127.0.0.1", port).sync().channel();
    }

    /** Request headers without validation: {@code :method GET, :scheme http, :authority a, :path path}. */
    public static Http2Headers headers(String method, String path) {
        return new DefaultHttp2Headers(false).method(method).scheme("http").authority("a").path(path);
    }

    /** One request stream. */
    public static final class Stream {
        public final Http2StreamChannel channel;
        public final BlockingQueue<String> events;

        Stream(Http2StreamChannel channel, BlockingQueue<String> events) {
            this.channel = channel;
            this.events = events;
        }

        public Stream headers(Http2Headers h, boolean endStream) {
            channel.writeAndFlush(new DefaultHttp2HeadersFrame(h, endStream));
            return this;
        }

        public Stream data(String text, boolean endStream) {
            channel.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.copiedBuffer(text, CharsetUtil.ISO_8859_1), endStream));
            return this;
        }

        /** The next event within 5 s, or {@code timeout}. */
        public String next() throws InterruptedException {
            String e = events.poll(5, TimeUnit.SECONDS);
            return e == null ? "timeout" : e;
        }
    }

    public Stream open() throws InterruptedException {
        BlockingQueue<String> events = new LinkedBlockingQueue<>();
        Http2StreamChannel ch = new Http2StreamChannelBootstrap(connection).handler(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof Http2HeadersFrame) {
                    CharSequence status = ((Http2HeadersFrame) msg).headers().status();
                    events.add(status != null ? "headers:" + status : "trailers");
                } else if (msg instanceof Http2DataFrame) {
                    events.add("data:" + ((Http2DataFrame) msg).content().toString(CharsetUtil.ISO_8859_1));
                } else if (msg instanceof Http2ResetFrame) {
                    events.add("reset:" + ((Http2ResetFrame) msg).errorCode());
                }
                ReferenceCountUtil.release(msg);
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                // Netty hands RST_STREAM to a stream channel as a user event, before closing it.
                if (evt instanceof Http2ResetFrame) {
                    events.add("reset:" + ((Http2ResetFrame) evt).errorCode());
                }
                ctx.fireUserEventTriggered(evt);
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                events.add("closed");
            }
        }).open().sync().getNow();
        return new Stream(ch, events);
    }

    public Channel connection() {
        return connection;
    }

    @Override
    public void close() {
        connection.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
