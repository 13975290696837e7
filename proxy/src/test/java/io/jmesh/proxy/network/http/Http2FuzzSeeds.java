package io.jmesh.proxy.network.http;

import java.nio.file.Files;
import java.nio.file.Path;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.DefaultHttp2FrameWriter;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;

/**
 * Writes the seed corpus of {@link Http2FrameFuzzTest} (frames after the connection preface) with Netty's frame
 * writer. Run by hand: {@code java -cp <proxy test classpath> io.jmesh.proxy.network.http.Http2FuzzSeeds <dir>}.
 */
final class Http2FuzzSeeds {

    private Http2FuzzSeeds() {}

    /** Collects what the writer writes. */
    static final class Sink extends ChannelOutboundHandlerAdapter {
        final ByteBuf out = Unpooled.buffer();

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            ByteBuf b = (ByteBuf) msg;
            out.writeBytes(b);
            b.release();
            promise.setSuccess();
        }
    }

    static Http2Headers get(String method, String path) {
        return new DefaultHttp2Headers().method(method).path(path).scheme("http").authority("example.com")
                                        .add("user-agent", "fuzz");
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Files.createDirectories(dir);
        write(dir.resolve("get"), (w, ctx) -> {
            w.writeSettings(ctx, new Http2Settings(), ctx.newPromise());
            w.writeHeaders(ctx, 1, get("GET", "/a"), 0, true, ctx.newPromise());
        });
        write(dir.resolve("post-data-window"), (w, ctx) -> {
            w.writeSettings(ctx, new Http2Settings().initialWindowSize(100), ctx.newPromise());
            w.writeSettingsAck(ctx, ctx.newPromise());
            w.writeHeaders(ctx, 1, get("POST", "/p").add("content-length", "5"), 0, false, ctx.newPromise());
            w.writeData(ctx, 1, Unpooled.copiedBuffer("hello", java.nio.charset.StandardCharsets.US_ASCII), 0, true,
                        ctx.newPromise());
            w.writeWindowUpdate(ctx, 0, 1000, ctx.newPromise());
            w.writeHeaders(ctx, 3, get("PUT", "/q"), 0, false, ctx.newPromise());
            w.writeRstStream(ctx, 3, 8, ctx.newPromise());
            w.writePing(ctx, false, 42, ctx.newPromise());
        });
        write(dir.resolve("trailers-priority-goaway"), (w, ctx) -> {
            w.writeSettings(ctx, new Http2Settings().maxConcurrentStreams(10).headerTableSize(0), ctx.newPromise());
            w.writeHeaders(ctx, 1, get("DELETE", "/d"), 3, (short) 16, false, 0, false, ctx.newPromise());
            w.writeData(ctx, 1, Unpooled.copiedBuffer("abc", java.nio.charset.StandardCharsets.US_ASCII), 4, false,
                        ctx.newPromise());
            w.writeHeaders(ctx, 1, new DefaultHttp2Headers().add("x-trailer", "t"), 0, true, ctx.newPromise());
            w.writePriority(ctx, 5, 1, (short) 200, true, ctx.newPromise());
            w.writeGoAway(ctx, 1, 0, Unpooled.EMPTY_BUFFER, ctx.newPromise());
        });
    }

    interface Frames {
        void write(DefaultHttp2FrameWriter w, ChannelHandlerContext ctx) throws Exception;
    }

    static void write(Path file, Frames frames) throws Exception {
        Files.write(file, bytes(frames));
    }

    /** The bytes {@code frames} writes. */
    static byte[] bytes(Frames frames) throws Exception {
        Sink sink = new Sink();
        EmbeddedChannel ch = new EmbeddedChannel(sink, new io.netty.channel.ChannelInboundHandlerAdapter());
        DefaultHttp2FrameWriter w = new DefaultHttp2FrameWriter();
        frames.write(w, ch.pipeline().lastContext()); // writes from there pass through the sink
        ch.flush();
        byte[] out = ByteBufUtil.getBytes(sink.out);
        sink.out.release();
        ch.finishAndReleaseAll();
        return out;
    }
}
