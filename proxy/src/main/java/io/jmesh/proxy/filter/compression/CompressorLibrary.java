package io.jmesh.proxy.filter.compression;

import java.util.List;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.aayushatharva.brotli4j.encoder.BrotliOutputStream;
import com.aayushatharva.brotli4j.encoder.Encoder;
import com.github.luben.zstd.ZstdOutputStreamNoFinalizer;
import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;

import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.extensions.compression.brotli.compressor.v3.Brotli;
import io.envoyproxy.envoy.extensions.compression.gzip.compressor.v3.Gzip;
import io.envoyproxy.envoy.extensions.compression.zstd.compressor.v3.Zstd;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.filter.HttpFilterFactory;

/**
 * A compressor library of the compressor filter ({@code compressor_library}), parsed once: its
 * {@code content-encoding} token, its stat prefix and a factory of per-stream compressors. Supported:
 * {@code envoy.compression.gzip.compressor} ({@code Gzip}: {@code compression_level}, {@code compression_strategy}
 * DEFAULT_STRATEGY/FILTERED/HUFFMAN_ONLY, {@code chunk_size}; {@code memory_level} and {@code window_bits} are
 * accepted with a warning, the JDK's zlib always uses 8 and 15), {@code envoy.compression.brotli.compressor}
 * ({@code quality}, {@code window_bits}, {@code encoder_mode}, {@code chunk_size}; {@code input_block_bits} and
 * {@code disable_literal_context_modeling} warned about) and {@code envoy.compression.zstd.compressor}
 * ({@code compression_level}, {@code enable_checksum}, {@code strategy}, {@code chunk_size}; {@code dictionary}
 * refused). Immutable and thread-safe.
 */
public final class CompressorLibrary {

    private static final Logger logger = LoggerFactory.getLogger(CompressorLibrary.class);

    static final String GZIP_URL = EnvoyTypes.typeUrl(Gzip.getDescriptor());
    static final String BROTLI_URL = EnvoyTypes.typeUrl(Brotli.getDescriptor());
    static final String ZSTD_URL = EnvoyTypes.typeUrl(Zstd.getDescriptor());

    private final String name;
    private final String encoding;
    private final String statPrefix;
    private final OutputStreamCompressor.Opener opener;

    private CompressorLibrary(String name, String encoding, String statPrefix, OutputStreamCompressor.Opener opener) {
        this.name = name;
        this.encoding = encoding;
        this.statPrefix = statPrefix;
        this.opener = opener;
    }

    /** The {@code compressor_library.name} (part of the stat names). */
    public String name() {
        return name;
    }

    /** The {@code content-encoding} / {@code accept-encoding} token: {@code gzip}, {@code br} or {@code zstd}. */
    public String encoding() {
        return encoding;
    }

    /** The library's stat prefix: {@code gzip}, {@code brotli} or {@code zstd}. */
    public String statPrefix() {
        return statPrefix;
    }

    /** A new compressor for one body. */
    public StreamCompressor newCompressor() {
        return new OutputStreamCompressor(opener);
    }

    /**
     * Parses {@code compressor_library}; {@code path} names it in errors, e.g.
     * {@code compressor_library.typed_config.compression_strategy: RLE (expected: ...)}.
     */
    public static CompressorLibrary parse(TypedExtensionConfig library, String path) throws ConfigException {
        if (!library.hasTypedConfig()) {
            throw new ConfigException(path + ".typed_config: unset (expected: " + List.of(GZIP_URL, BROTLI_URL, ZSTD_URL)
                    + ")");
        }
        Any any = library.getTypedConfig();
        String at = path + ".typed_config";
        String url = any.getTypeUrl();
        if (url.equals(GZIP_URL)) {
            return gzip(library.getName(), HttpFilterFactory.unpack(any, Gzip.class, Gzip.getDescriptor()), at);
        }
        if (url.equals(BROTLI_URL)) {
            return brotli(library.getName(), HttpFilterFactory.unpack(any, Brotli.class, Brotli.getDescriptor()), at);
        }
        if (url.equals(ZSTD_URL)) {
            return zstd(library.getName(), HttpFilterFactory.unpack(any, Zstd.class, Zstd.getDescriptor()), at);
        }
        throw new ConfigException(at + ": " + url + " (expected: a compressor library of "
                + List.of(GZIP_URL, BROTLI_URL, ZSTD_URL) + "; name: " + library.getName() + ")");
    }

    private static CompressorLibrary gzip(String name, Gzip g, String at) throws ConfigException {
        int level = g.getCompressionLevelValue() == 0 ? Deflater.DEFAULT_COMPRESSION : g.getCompressionLevelValue();
        if (level != Deflater.DEFAULT_COMPRESSION && (level < 1 || level > 9)) {
            throw new ConfigException(at + ".compression_level: " + g.getCompressionLevelValue()
                    + " (expected: DEFAULT_COMPRESSION, BEST_SPEED, COMPRESSION_LEVEL_1..9 or BEST_COMPRESSION)");
        }
        int strategy;
        switch (g.getCompressionStrategyValue()) {
            case 0 -> strategy = Deflater.DEFAULT_STRATEGY;
            case 1 -> strategy = Deflater.FILTERED;
            case 2 -> strategy = Deflater.HUFFMAN_ONLY;
            default -> throw new ConfigException(at + ".compression_strategy: " + g.getCompressionStrategy()
                    + " (expected: DEFAULT_STRATEGY, FILTERED or HUFFMAN_ONLY; RLE and FIXED are not supported)");
        }
        checkRange(g.hasMemoryLevel(), g.getMemoryLevel(), 1, 9, at + ".memory_level");
        checkRange(g.hasWindowBits(), g.getWindowBits(), 9, 15, at + ".window_bits");
        int chunk = chunkSize(g.hasChunkSize(), g.getChunkSize(), at);
        if ((g.hasMemoryLevel() && g.getMemoryLevel().getValue() != 8)
                || (g.hasWindowBits() && g.getWindowBits().getValue() != 15)) {
            logger.warn("{}: memory_level {} and window_bits {} are not applied: the JDK's zlib compresses with"
                            + " memory level 8 and a 15-bit window (the output is standard gzip either way)", at,
                    g.hasMemoryLevel() ? g.getMemoryLevel().getValue() : "unset",
                    g.hasWindowBits() ? g.getWindowBits().getValue() : "unset");
        }
        return new CompressorLibrary(name, "gzip", "gzip", sink -> new GZIPOutputStream(sink, chunk, true) {
            {
                def.setLevel(level);
                def.setStrategy(strategy);
            }
        });
    }

    private static CompressorLibrary brotli(String name, Brotli b, String at) throws ConfigException {
        if (!io.netty.handler.codec.compression.Brotli.isAvailable()) {
            throw new ConfigException(at + ": " + BROTLI_URL + " (expected: a compressor library available here;"
                    + " brotli's native library cannot be loaded: " + io.netty.handler.codec.compression.Brotli.cause() + ")");
        }
        int quality = b.hasQuality() ? b.getQuality().getValue() : 3;
        if (quality > 11) {
            throw new ConfigException(at + ".quality: " + quality + " (expected: 0..11)");
        }
        checkRange(b.hasWindowBits(), b.getWindowBits(), 10, 24, at + ".window_bits");
        checkRange(b.hasInputBlockBits(), b.getInputBlockBits(), 16, 24, at + ".input_block_bits");
        int window = b.hasWindowBits() ? b.getWindowBits().getValue() : 18;
        Encoder.Mode mode;
        switch (b.getEncoderMode()) {
            case TEXT -> mode = Encoder.Mode.TEXT;
            case FONT -> mode = Encoder.Mode.FONT;
            case DEFAULT, GENERIC -> mode = Encoder.Mode.GENERIC;
            default -> throw new ConfigException(at + ".encoder_mode: " + b.getEncoderModeValue()
                    + " (expected: DEFAULT, GENERIC, TEXT or FONT)");
        }
        int chunk = chunkSize(b.hasChunkSize(), b.getChunkSize(), at);
        if (b.hasInputBlockBits() || b.getDisableLiteralContextModeling()) {
            logger.warn("{}: input_block_bits and disable_literal_context_modeling are not applied (brotli4j sets"
                    + " quality, window and mode only)", at);
        }
        Encoder.Parameters params = new Encoder.Parameters().setQuality(quality).setWindow(window).setMode(mode);
        return new CompressorLibrary(name, "br", "brotli", sink -> new BrotliOutputStream(sink, params, chunk));
    }

    private static CompressorLibrary zstd(String name, Zstd z, String at) throws ConfigException {
        if (!io.netty.handler.codec.compression.Zstd.isAvailable()) {
            throw new ConfigException(at + ": " + ZSTD_URL + " (expected: a compressor library available here;"
                    + " zstd's native library cannot be loaded: " + io.netty.handler.codec.compression.Zstd.cause() + ")");
        }
        if (z.hasDictionary()) {
            throw new ConfigException(at + ".dictionary: set (expected: unset; zstd dictionaries are not supported)");
        }
        int level = z.hasCompressionLevel() ? z.getCompressionLevel().getValue() : 3;
        if (level > 22) {
            throw new ConfigException(at + ".compression_level: " + level + " (expected: 0..22)");
        }
        int strategy = z.getStrategyValue();
        if (strategy < 0 || strategy > 9) {
            throw new ConfigException(at + ".strategy: " + strategy + " (expected: DEFAULT, FAST .. BTULTRA2)");
        }
        chunkSize(z.hasChunkSize(), z.getChunkSize(), at);
        boolean checksum = z.getEnableChecksum();
        return new CompressorLibrary(name, "zstd", "zstd", sink -> {
            ZstdOutputStreamNoFinalizer out = new ZstdOutputStreamNoFinalizer(sink, level);
            out.setChecksum(checksum);
            if (strategy != 0) {
                out.setStrategy(strategy);
            }
            return out;
        });
    }

    static int chunkSize(boolean set, UInt32Value v, String at) throws ConfigException {
        checkRange(set, v, 4096, 65536, at + ".chunk_size");
        return set ? v.getValue() : 4096;
    }

    static void checkRange(boolean set, UInt32Value v, int min, int max, String path) throws ConfigException {
        if (set && (Integer.compareUnsigned(v.getValue(), min) < 0 || Integer.compareUnsigned(v.getValue(), max) > 0)) {
            throw new ConfigException(path + ": " + Integer.toUnsignedString(v.getValue()) + " (expected: " + min + ".."
                    + max + ")");
        }
    }

    @Override
    public String toString() {
        return name + "(" + encoding + ")";
    }
}
