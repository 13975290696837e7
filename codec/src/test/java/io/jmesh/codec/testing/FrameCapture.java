package io.jmesh.codec.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;

/**
 * Saves frames seen from real peers as hex files, when the system property {@code codec.capture} names
 * a directory; this is how the files under {@code src/test/resources/golden} were made. Does nothing
 * otherwise.
 */
public final class FrameCapture {

    private FrameCapture() {}

    /** Writes the readable bytes of {@code frame} (not consumed, not released) as {@code name}.hex, once;
     * frames over 100,000 bytes are not kept. */
    public static void save(String name, ByteBuf frame) {
        final String dir = System.getProperty("codec.capture");
        if (dir == null || frame.readableBytes() > 100_000) {
            return;
        }
        final Path file = Paths.get(dir, name + ".hex");
        if (Files.exists(file)) {
            return;
        }
        try {
            Files.createDirectories(file.getParent());
            Files.write(file, ByteBufUtil.hexDump(frame).getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads a golden frame from the test class path. */
    public static byte[] load(String name) {
        try (var in = FrameCapture.class.getResourceAsStream("/golden/" + name + ".hex")) {
            if (in == null) {
                throw new IllegalArgumentException("no golden frame " + name);
            }
            return ByteBufUtil.decodeHexDump(new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
