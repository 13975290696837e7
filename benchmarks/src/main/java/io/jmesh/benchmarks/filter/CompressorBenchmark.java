package io.jmesh.benchmarks.filter;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import com.google.protobuf.Any;

import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.extensions.compression.brotli.compressor.v3.Brotli;
import io.envoyproxy.envoy.extensions.compression.gzip.compressor.v3.Gzip;
import io.envoyproxy.envoy.extensions.compression.zstd.compressor.v3.Zstd;
import io.jmesh.proxy.filter.compression.CompressorLibrary;
import io.jmesh.proxy.filter.compression.StreamCompressor;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;

/**
 * The compressor filter's libraries on one body of 64 KiB of text in 1 KiB pieces, each compressed and flushed as
 * the filter does when a body streams (gzip at Envoy's default level, brotli quality 3, zstd level 3). Divide the
 * score by 64 for the cost per KiB.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class CompressorBenchmark {

    private static final int PIECE = 1024;
    private static final int PIECES = 64;

    @Param({"gzip", "brotli", "zstd"})
    public String library;

    private CompressorLibrary lib;
    private ByteBuf body;

    @Setup
    public void setup() throws Exception {
        Any config = switch (library) {
            case "gzip" -> Any.pack(Gzip.getDefaultInstance());
            case "brotli" -> Any.pack(Brotli.getDefaultInstance());
            default -> Any.pack(Zstd.getDefaultInstance());
        };
        lib = CompressorLibrary.parse(TypedExtensionConfig.newBuilder().setName(library).setTypedConfig(config).build(),
                "compressor_library");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; sb.length() < PIECE * PIECES; i++) {
            sb.append("{\"id\":").append(i).append(",\"name\":\"item ").append(i).append("\",\"tags\":[\"a\",\"b\"]}\n");
        }
        body = PooledByteBufAllocator.DEFAULT.directBuffer(PIECE * PIECES);
        body.writeBytes(sb.substring(0, PIECE * PIECES).getBytes(StandardCharsets.US_ASCII));
    }

    /** Compresses the whole body piece by piece; returns the compressed size. */
    @Benchmark
    public int streamed64KiB() throws Exception {
        StreamCompressor c = lib.newCompressor();
        int out = 0;
        for (int i = 0; i < PIECES; i++) {
            ByteBuf piece = body.retainedSlice(i * PIECE, PIECE);
            ByteBuf compressed = c.compress(piece, i == PIECES - 1);
            out += compressed.readableBytes();
            compressed.release();
        }
        return out;
    }
}
