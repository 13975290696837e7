package io.jmesh.proxy.filter.compression;

import java.util.List;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.google.protobuf.Any;

import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.extensions.compression.brotli.decompressor.v3.Brotli;
import io.envoyproxy.envoy.extensions.compression.gzip.decompressor.v3.Gzip;
import io.envoyproxy.envoy.extensions.compression.zstd.decompressor.v3.Zstd;
import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.config.EnvoyTypes;
import io.jmesh.proxy.filter.HttpFilterFactory;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.compression.BrotliDecoder;
import io.netty.handler.codec.compression.DecompressionException;
import io.netty.handler.codec.compression.JdkZlibDecoder;
import io.netty.handler.codec.compression.ZlibWrapper;
import io.netty.handler.codec.compression.ZstdDecoder;

/**
 * A decompressor library of the decompressor filter ({@code decompressor_library}), parsed once:
 * {@code envoy.compression.gzip.decompressor} ({@code Gzip}: {@code max_inflate_ratio}, default 100, is enforced;
 * {@code window_bits} and {@code chunk_size} are checked and need nothing more), {@code
 * envoy.compression.brotli.decompressor} and {@code envoy.compression.zstd.decompressor} ({@code dictionaries}
 * refused). Each body is decoded by Netty's decoder of the format ({@code JdkZlibDecoder},
 * {@code BrotliDecoder}, {@code ZstdDecoder}). Immutable and thread-safe.
 */
public final class DecompressorLibrary {

    private static final Logger logger = LoggerFactory.getLogger(DecompressorLibrary.class);

    static final String GZIP_URL = EnvoyTypes.typeUrl(Gzip.getDescriptor());
    static final String BROTLI_URL = EnvoyTypes.typeUrl(Brotli.getDescriptor());
    static final String ZSTD_URL = EnvoyTypes.typeUrl(Zstd.getDescriptor());

    private final String name;
    private final String encoding;
    private final String statPrefix;
    private final Supplier<ChannelHandler> decoder;
    /** Output bytes allowed per input byte; 0 for no bound. */
    private final long maxInflateRatio;

    private DecompressorLibrary(String name, String encoding, String statPrefix, Supplier<ChannelHandler> decoder,
                                long maxInflateRatio) {
        this.name = name;
        this.encoding = encoding;
        this.statPrefix = statPrefix;
        this.decoder = decoder;
        this.maxInflateRatio = maxInflateRatio;
    }

    /** The {@code decompressor_library.name}. */
    public String name() {
        return name;
    }

    /** The {@code content-encoding} token: {@code gzip}, {@code br} or {@code zstd}. */
    public String encoding() {
        return encoding;
    }

    /** {@code gzip}, {@code brotli} or {@code zstd}. */
    public String statPrefix() {
        return statPrefix;
    }

    /** A new decompressor for one body. */
    public StreamDecompressor newDecompressor() {
        return new ChannelDecompressor(new EmbeddedChannel(decoder.get()), maxInflateRatio);
    }

    /** Parses {@code decompressor_library}; {@code path} names it in errors. */
    public static DecompressorLibrary parse(TypedExtensionConfig library, String path) throws ConfigException {
        List<String> known = List.of(GZIP_URL, BROTLI_URL, ZSTD_URL);
        if (!library.hasTypedConfig()) {
            throw new ConfigException(path + ".typed_config: unset (expected: " + known + ")");
        }
        Any any = library.getTypedConfig();
        String at = path + ".typed_config";
        String url = any.getTypeUrl();
        if (url.equals(GZIP_URL)) {
            Gzip g = HttpFilterFactory.unpack(any, Gzip.class, Gzip.getDescriptor());
            CompressorLibrary.checkRange(g.hasWindowBits(), g.getWindowBits(), 9, 15, at + ".window_bits");
            CompressorLibrary.chunkSize(g.hasChunkSize(), g.getChunkSize(), at);
            CompressorLibrary.checkRange(g.hasMaxInflateRatio(), g.getMaxInflateRatio(), 1, 1032, at + ".max_inflate_ratio");
            long ratio = g.hasMaxInflateRatio() ? g.getMaxInflateRatio().getValue() : 100;
            return new DecompressorLibrary(library.getName(), "gzip", "gzip",
                    () -> new JdkZlibDecoder(ZlibWrapper.GZIP, true, 0), ratio);
        }
        if (url.equals(BROTLI_URL)) {
            Brotli b = HttpFilterFactory.unpack(any, Brotli.class, Brotli.getDescriptor());
            if (!io.netty.handler.codec.compression.Brotli.isAvailable()) {
                throw new ConfigException(at + ": " + url + " (expected: a decompressor library available here;"
                        + " brotli's native library cannot be loaded: " + io.netty.handler.codec.compression.Brotli.cause() + ")");
            }
            CompressorLibrary.chunkSize(b.hasChunkSize(), b.getChunkSize(), at);
            if (b.getDisableRingBufferReallocation()) {
                logger.warn("{}.disable_ring_buffer_reallocation: true is not applied (Netty's BrotliDecoder decides)", at);
            }
            return new DecompressorLibrary(library.getName(), "br", "brotli", BrotliDecoder::new, 0);
        }
        if (url.equals(ZSTD_URL)) {
            Zstd z = HttpFilterFactory.unpack(any, Zstd.class, Zstd.getDescriptor());
            if (!io.netty.handler.codec.compression.Zstd.isAvailable()) {
                throw new ConfigException(at + ": " + url + " (expected: a decompressor library available here;"
                        + " zstd's native library cannot be loaded: " + io.netty.handler.codec.compression.Zstd.cause() + ")");
            }
            if (z.getDictionariesCount() > 0) {
                throw new ConfigException(at + ".dictionaries: " + z.getDictionariesCount()
                        + " (expected: none; zstd dictionaries are not supported)");
            }
            CompressorLibrary.chunkSize(z.hasChunkSize(), z.getChunkSize(), at);
            return new DecompressorLibrary(library.getName(), "zstd", "zstd", ZstdDecoder::new, 0);
        }
        throw new ConfigException(at + ": " + url + " (expected: a decompressor library of " + known + "; name: "
                + library.getName() + ")");
    }

    @Override
    public String toString() {
        return name + "(" + encoding + ")";
    }

    /** Pushes compressed pieces through a Netty decoder in an {@link EmbeddedChannel} and collects its output. */
    private static final class ChannelDecompressor implements StreamDecompressor {
        private final EmbeddedChannel channel;
        private final long maxInflateRatio;
        private long in;
        private long out;
        private boolean closed;

        ChannelDecompressor(EmbeddedChannel channel, long maxInflateRatio) {
            this.channel = channel;
            this.maxInflateRatio = maxInflateRatio;
        }

        @Override
        public ByteBuf decompress(ByteBuf data) {
            if (closed) {
                data.release();
                throw new DecompressionException("decompressor closed");
            }
            in += data.readableBytes();
            channel.writeInbound(data); // ownership passes to the decoder; a corrupt stream throws here
            CompositeByteBuf result = null;
            for (ByteBuf b; (b = channel.readInbound()) != null; ) {
                out += b.readableBytes();
                if (result == null) {
                    result = b.alloc().compositeBuffer(Integer.MAX_VALUE);
                }
                result.addComponent(true, b);
            }
            if (maxInflateRatio > 0 && out > maxInflateRatio * Math.max(in, 1)) {
                if (result != null) {
                    result.release();
                }
                throw new DecompressionException("inflated " + out + " bytes from " + in + " (above max_inflate_ratio "
                        + maxInflateRatio + ")");
            }
            return result != null ? result : Unpooled.EMPTY_BUFFER;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                channel.finishAndReleaseAll();
            }
        }
    }
}
