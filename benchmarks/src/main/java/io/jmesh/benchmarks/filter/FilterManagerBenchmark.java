package io.jmesh.benchmarks.filter;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.Blackhole;

import io.jmesh.proxy.filter.FilterDataStatus;
import io.jmesh.proxy.filter.FilterHeadersStatus;
import io.jmesh.proxy.filter.FilterTrailersStatus;
import io.jmesh.proxy.filter.HttpFilter;
import io.jmesh.proxy.filter.StreamDecoderFilter;
import io.jmesh.proxy.filter.StreamDecoderFilterCallbacks;
import io.jmesh.proxy.filter.StreamFilterBase;
import io.jmesh.proxy.network.http.FilterManager;
import io.jmesh.proxy.network.http.LocalReply;
import io.jmesh.proxy.stream.ConnectionInfo;
import io.jmesh.proxy.stream.StreamInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

/**
 * One stream through the HTTP filter manager without sockets: request headers and 4 body pieces in, response
 * headers and 4 body pieces out, through {@code filters} no-op filters (of both directions) and a terminal
 * filter standing in for the router (it answers at the end of the request and forwards the body pieces as the
 * router does). Measures the per-stream cost of the filter chain itself; 0 filters is the router-only chain.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class FilterManagerBenchmark {

    @Param({"0", "3"})
    public int filters;

    private EventLoop loop;
    private ByteBuf chunk;
    private Codec codec;

    @Setup
    public void setUp() {
        loop = new DefaultEventLoop();
        chunk = Unpooled.unreleasableBuffer(Unpooled.directBuffer(1024).writeZero(1024));
        codec = new Codec();
    }

    @TearDown
    public void tearDown() {
        loop.shutdownGracefully();
    }

    @Benchmark
    public void stream(Blackhole bh) {
        List<StreamFilterBase> chain = new ArrayList<>(filters + 1);
        for (int i = 0; i < filters; i++) {
            chain.add(new NoOp());
        }
        chain.add(new Terminal(chunk));
        codec.bh = bh;
        FilterManager fm = new FilterManager(codec, loop, new StreamInfo(), null, r -> null, LocalReply.DEFAULT,
                1 << 20, chain);
        fm.decodeHeaders(new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/echo"), false);
        for (int i = 0; i < 4; i++) {
            fm.decodeData(chunk.duplicate(), i == 3);
        }
        fm.destroy();
    }

    /** A filter that overrides nothing: what a filter costs that does not touch the stream. */
    static final class NoOp implements HttpFilter {
    }

    /** The router's part: takes each request piece, answers with headers and the same number of pieces. */
    static final class Terminal implements StreamDecoderFilter {
        private final ByteBuf chunk;
        private StreamDecoderFilterCallbacks callbacks;

        Terminal(ByteBuf chunk) {
            this.chunk = chunk;
        }

        @Override
        public void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks callbacks) {
            this.callbacks = callbacks;
        }

        @Override
        public FilterHeadersStatus decodeHeaders(HttpRequest headers, boolean endStream) {
            return FilterHeadersStatus.STOP_ITERATION;
        }

        @Override
        public FilterDataStatus decodeData(ByteBuf data, boolean endStream) {
            if (endStream) {
                callbacks.encodeHeaders(new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK), false);
                for (int i = 0; i < 4; i++) {
                    callbacks.encodeData(chunk.duplicate(), i == 3);
                }
            }
            return FilterDataStatus.STOP_ITERATION_NO_BUFFER;
        }

        @Override
        public FilterTrailersStatus decodeTrailers(HttpHeaders trailers) {
            return FilterTrailersStatus.STOP_ITERATION;
        }
    }

    /** The downstream codec: consumes what is encoded. */
    static final class Codec implements FilterManager.Callbacks {
        Blackhole bh;

        @Override
        public void encodeHeaders(HttpResponse headers, boolean endStream) {
            bh.consume(headers);
        }

        @Override
        public void encodeData(ByteBuf data, boolean endStream) {
            bh.consume(data);
        }

        @Override
        public void encodeTrailers(HttpHeaders trailers) {
            bh.consume(trailers);
        }

        @Override
        public void flush() {
        }

        @Override
        public void onEncodeComplete() {
        }

        @Override
        public void resetStream() {
        }

        @Override
        public void setDownstreamReadable(boolean readable) {
        }
    }
}
