package io.jmesh.proxy.filter.compression;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

import com.aayushatharva.brotli4j.Brotli4jLoader;
import com.aayushatharva.brotli4j.decoder.BrotliInputStream;
import com.aayushatharva.brotli4j.encoder.BrotliOutputStream;
import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;

/**
 * Real gzip (java.util.zip), brotli (brotli4j) and zstd (zstd-jni) for tests: the reference implementations
 * the proxy's output is checked against, and compressed bodies for the decompressor tests.
 */
public final class Codecs {

    private Codecs() {}

    /** {@code n} bytes of text: numbered lines, compressible and checkable. */
    public static byte[] text(int n) {
        StringBuilder sb = new StringBuilder(n + 64);
        for (int i = 0; sb.length() < n; i++) {
            sb.append("line ").append(i).append(" of the jmesh compression test body\n");
        }
        return sb.substring(0, n).getBytes(StandardCharsets.US_ASCII);
    }

    /** Compresses {@code data} as {@code encoding} ({@code gzip}, {@code br} or {@code zstd}). */
    public static byte[] compress(String encoding, byte[] data) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (OutputStream out = open(encoding, bytes)) {
            out.write(data);
        }
        return bytes.toByteArray();
    }

    /** Decompresses a whole {@code encoding} body. */
    public static byte[] decompress(String encoding, byte[] data) throws IOException {
        try (InputStream in = input(encoding, new ByteArrayInputStream(data))) {
            return in.readAllBytes();
        }
    }

    /** A decompressing stream over {@code in}. */
    public static InputStream input(String encoding, InputStream in) throws IOException {
        switch (encoding) {
            case "gzip":
                return new GZIPInputStream(in);
            case "br":
                Brotli4jLoader.ensureAvailability();
                return new BrotliInputStream(in);
            case "zstd":
                return new ZstdInputStream(in);
            default:
                throw new IllegalArgumentException(encoding);
        }
    }

    private static OutputStream open(String encoding, OutputStream out) throws IOException {
        switch (encoding) {
            case "gzip":
                return new GZIPOutputStream(out);
            case "br":
                Brotli4jLoader.ensureAvailability();
                return new BrotliOutputStream(out);
            case "zstd":
                return new ZstdOutputStream(out);
            default:
                throw new IllegalArgumentException(encoding);
        }
    }
}
