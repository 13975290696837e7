package io.jmesh.proxy.filter.compressor;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import io.jmesh.proxy.config.ConfigException;
import io.jmesh.proxy.testing.Bootstraps;

/** What the compressor filter refuses, with the field's path. */
class CompressorFilterConfigTest {

    private static String error(String fields) {
        ConfigException e = assertThrows(ConfigException.class, () -> Bootstraps.http()
                .httpFilter(CompressorFilterTest.COMPRESSOR, Bootstraps.typed(CompressorFilterTest.TYPE, fields))
                .route("/", "backend").cluster("backend", 1).start(1).close());
        return e.getMessage();
    }

    private static void assertContains(String expected, String actual) {
        assertTrue(actual.contains(expected), actual);
    }

    @Test
    void unsupportedOrInvalidFieldsAreNamed() {
        String at = "http_filters[0].typed_config.";
        assertContains(at + "compressor_library.typed_config.compression_strategy: RLE (expected: DEFAULT_STRATEGY,"
                + " FILTERED or HUFFMAN_ONLY; RLE and FIXED are not supported)",
                error(CompressorFilterTest.library("gz", "gzip.compressor.v3.Gzip", "compression_strategy: RLE")));
        assertContains(at + "compressor_library.typed_config.chunk_size: 100 (expected: 4096..65536)",
                error(CompressorFilterTest.library("gz", "gzip.compressor.v3.Gzip", "chunk_size: 100")));
        assertContains(at + "compressor_library.typed_config.dictionary: set (expected: unset;",
                error(CompressorFilterTest.library("zs", "zstd.compressor.v3.Zstd",
                        "dictionary: { inline_string: abc }")));
        assertContains(at + "compressor_library.typed_config.quality: 12 (expected: 0..11)",
                error(CompressorFilterTest.library("br", "brotli.compressor.v3.Brotli", "quality: 12")));
        assertContains(at + "compressor_library.name: \"\" (expected: a non-empty name)",
                error(CompressorFilterTest.library("\"\"", "gzip.compressor.v3.Gzip", "")));
        assertContains(at + "compressor_library.typed_config: type.googleapis.com/envoy.extensions.compression.gzip"
                + ".decompressor.v3.Gzip (expected: a compressor library of",
                error(CompressorFilterTest.library("gz", "gzip.decompressor.v3.Gzip", "")));
        assertContains(at + "compressor_library: unset", error(""));
    }
}
